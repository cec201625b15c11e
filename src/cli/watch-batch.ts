/**
 * `--wait` and `status --watch`: a live progress bar of committed items (the ledger where this
 * machine reads it, else the running slices' heartbeats, and the workflow's state; see
 * batch-progress.ts). Percent and ETA are computed here, not by cli-progress, which shows 100%
 * of a total of 0 and `NaN` before a rate exists.
 */
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BatchProgress, BatchSummary } from '../contract/messages';
import type { Ledger } from '../ledger/ledger';
import { describeState, lanesFoundBrief } from '../workflows/details';
import { outlook, Pace } from '../workflows/pace';
import { ProgressReader } from './batch-progress';
import { existingLedger } from '../ledger/open-ledger';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { closedByFailure, endedError } from './batch-outcome';
import { reportMissingWorker, WORKER_ANSWER_MS } from './worker-presence';
import { noWorkerNotice, type NoWorkerNoticeOptions } from './no-worker-notice';

const POLL_MS = 500;
/** What a shell reports for Ctrl-C: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

/**
 * Follows a batch to its end and returns its summary; a batch that failed or was cancelled
 * throws the CliError that says so (with its exit code). While no worker polls the batch's task
 * queue it says so and keeps waiting; Ctrl-C stops the watching, not the batch, and says how to watch again.
 */
export async function watchBatch(
  handle: WorkflowHandle<typeof batchWorkflow>,
  taskQueue?: string,
  notice?: Pick<NoWorkerNoticeOptions, 'targets' | 'afterMs'>,
): Promise<BatchSummary> {
  const bar = newBar();
  let started = false;
  const pace = new Pace();
  let lastSeen: BatchProgress | undefined;
  const show = (p: BatchProgress) => {
    lastSeen = p;
    const doneItems = p.succeeded + p.failed;
    pace.observe(Date.now(), doneItems, p.state);
    const payload = {
      ...barNumbers(doneItems, p.total),
      ...paceText(p, handle.workflowId, pace),
      failed: p.failed,
      state: p.adaptiveLanes ? `${describeState(p)}, ${lanesFoundBrief(p.adaptiveLanes)}` : describeState(p),
    };
    // Until the source is counted the bar has no length: an empty bar, '?' for the total.
    const length = p.total || 1;
    if (!started) {
      bar.start(length, Math.min(doneItems, length), payload);
      started = true;
    } else {
      bar.setTotal(length);
      bar.update(Math.min(doneItems, length), payload);
    }
  };
  const say = (line: string) => {
    // A line of its own, not glued to a bar on a terminal.
    if (started && process.stderr.isTTY) process.stderr.write('\n');
    console.error(`waymark: ${line}`);
  };

  const onInterrupt = () => {
    if (started) bar.stop();
    say(
      `stopped watching; batch ${handle.workflowId} runs on. Watch it again with \`waymark status ${handle.workflowId} --watch\`, stop it with \`waymark cancel ${handle.workflowId}\``,
    );
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  const ledger = openLedgerQuietly();
  const reader = new ProgressReader(handle, ledger);
  const queue = taskQueue ?? (await handle.describe()).taskQueue;
  // The reader's last sign of a worker (an answered query, commits, a heartbeat): a long silence means none polls.
  const stopWorkerCheck = reportMissingWorker(handle.client, queue, () => reader.lastSignOfWorker, say);
  const stopNotice = notice
    ? noWorkerNotice({
        ...notice,
        client: handle.client,
        batchId: handle.workflowId,
        taskQueue: queue,
        lastSeen: () => lastSeen,
        say,
      })
    : () => undefined;

  const sayLedger = ledgerSayer(say);
  const polling = pollProgress(handle, reader, (p) => {
    show(p);
    sayLedger(p);
  });

  try {
    const summary = await handle.result();
    await polling.stop();
    if (started) {
      bar.setTotal(summary.total);
      const done = summary.succeeded + summary.failed;
      bar.update(Math.min(done, summary.total), {
        ...barNumbers(done, summary.total),
        speed: `${Math.round(summary.itemsPerSecond)} items/s`,
        etaText: 'ETA 0s',
        failed: summary.failed,
        state: summary.status,
      });
    }
    return summary;
  } catch (err) {
    await polling.stop();
    if (err instanceof WorkflowFailedError) throw endedError(handle.workflowId, await closedByFailure(handle.workflowId, err));
    throw err;
  } finally {
    stopWorkerCheck();
    stopNotice();
    process.off('SIGINT', onInterrupt);
    if (started) bar.stop();
    await ledger?.close().catch(() => undefined);
  }
}

/** Reads the batch's progress every POLL_MS until stopped. */
function pollProgress(
  handle: WorkflowHandle<typeof batchWorkflow>,
  reader: ProgressReader,
  show: (p: BatchProgress) => void,
): { stop(): Promise<void> } {
  let finished = false;
  const poll = (async () => {
    while (!finished) {
      try {
        // A deadline, or a query nobody answers would hold the bar (and this loop) until the server gives up.
        show(await handle.client.connection.withDeadline(Date.now() + WORKER_ANSWER_MS, () => reader.read()));
      } catch {
        // Between runs (continue-as-new) or before the first workflow task a query can fail; the next poll catches up.
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  return {
    stop() {
      finished = true;
      return poll;
    },
  };
}

/**
 * The bar is cut to the terminal's width: a ledger that cannot be reached gets a whole line, with
 * its reason, once, and another once it answers again.
 */
function ledgerSayer(say: (line: string) => void): (p: BatchProgress) => void {
  let unreachable: string | undefined;
  return (p) => {
    if (p.ledgerUnreachable !== undefined && unreachable === undefined) {
      say(`ledger unreachable: ${p.ledgerUnreachable}; the batch waits, and goes on by itself once the ledger answers`);
    } else if (p.ledgerUnreachable === undefined && unreachable !== undefined) say('the ledger answers again; going on');
    unreachable = p.ledgerUnreachable;
  };
}

/** This machine's ledger, to read progress from; none when it has none or it cannot be opened (heartbeats tell then). */
export function openLedgerQuietly(): Ledger | undefined {
  try {
    return existingLedger();
  } catch {
    return undefined;
  }
}

function newBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: '{bar} {percent} | {done}/{all} items | {speed} | {etaText} | failed {failed} | {state}',
      // In CI or a pipe there is no terminal to redraw: print a line every few seconds instead.
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** The bar's numbers: percent only once the total is known. */
export function barNumbers(done: number, total: number | undefined): { percent: string; done: number; all: string } {
  const known = total !== undefined && total > 0;
  return {
    percent: known ? `${Math.floor((Math.min(done, total) / total) * 100)}%` : '?%',
    done,
    all: total === undefined ? '?' : String(total),
  };
}

/** Speed and ETA over recent running time; while not running, the state's own words (pace.ts). */
function paceText(p: BatchProgress, batchId: string, pace: Pace): { speed: string; etaText: string } {
  const rate = pace.itemsPerSecond();
  const view = outlook(p, batchId, rate, Date.now());
  if (p.state !== 'running') return { speed: view.speed, etaText: view.eta };
  return { speed: rate === undefined ? '- items/s' : `${Math.round(rate)} items/s`, etaText: `ETA ${view.eta}` };
}
