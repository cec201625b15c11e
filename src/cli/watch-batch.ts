/**
 * `--wait` and `status --watch`: a live progress bar of committed items (the workflow's progress
 * query plus its running slices' heartbeats, see batch-progress.ts). Percent and ETA are computed
 * here, not by cli-progress, which shows 100% of a total of 0 and `NaN` before a rate exists.
 */
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BatchProgress, BatchSummary } from '../contract/messages';
import { describeState, formatDuration } from '../workflows/details';
import { batchProgress } from './batch-progress';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { closedByFailure, endedError } from './batch-outcome';
import { reportMissingWorker, WORKER_ANSWER_MS } from './worker-presence';

const POLL_MS = 500;
/** What a shell reports for Ctrl-C: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

/**
 * Follows a batch to its end and returns its summary; a batch that failed or was cancelled
 * throws the CliError that says so (with its exit code). While no worker polls the batch's task
 * queue it says so and keeps waiting; Ctrl-C stops the watching, not the batch, and says how to watch again.
 */
export async function watchBatch(handle: WorkflowHandle<typeof batchWorkflow>, taskQueue?: string): Promise<BatchSummary> {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percent} | {done}/{all} items | {speed} items/s | ETA {etaText} | failed {failed} | {state}',
      // In CI or a pipe there is no terminal to redraw: print a line every few seconds instead.
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const show = (p: BatchProgress) => {
    const doneItems = p.succeeded + p.failed;
    const elapsed = Math.max(1, Date.now() - p.startedAt) / 1000;
    const payload = { ...barNumbers(doneItems, p.total, doneItems / elapsed), failed: p.failed, state: describeState(p) };
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
  // When a query was last answered: only a worker answers one, so a long silence means none polls.
  let lastAnswer = Date.now();
  const stopWorkerCheck = reportMissingWorker(handle.client, taskQueue ?? (await handle.describe()).taskQueue, () => lastAnswer, say);

  // The bar is cut to the terminal's width: a ledger that cannot be reached gets a whole line, with its reason.
  let ledgerUnreachable: string | undefined;
  const sayLedger = (p: BatchProgress) => {
    if (p.ledgerUnreachable !== undefined && ledgerUnreachable === undefined) {
      say(`ledger unreachable: ${p.ledgerUnreachable}; the batch waits, and goes on by itself once the ledger answers`);
    } else if (p.ledgerUnreachable === undefined && ledgerUnreachable !== undefined) say('the ledger answers again; going on');
    ledgerUnreachable = p.ledgerUnreachable;
  };

  let finished = false;
  const poll = (async () => {
    while (!finished) {
      try {
        // A deadline, or a query nobody answers would hold the bar (and this loop) until the server gives up.
        const progress = await handle.client.connection.withDeadline(Date.now() + WORKER_ANSWER_MS, () => batchProgress(handle));
        show(progress);
        sayLedger(progress);
        lastAnswer = Date.now();
      } catch {
        // Between runs (continue-as-new) or before the first workflow task a query can fail; the next poll catches up.
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  try {
    const summary = await handle.result();
    finished = true;
    await poll;
    if (started) {
      bar.setTotal(summary.total);
      const done = summary.succeeded + summary.failed;
      bar.update(Math.min(done, summary.total), {
        ...barNumbers(done, summary.total, summary.itemsPerSecond),
        failed: summary.failed,
        state: summary.status,
      });
    }
    return summary;
  } catch (err) {
    finished = true;
    await poll;
    if (err instanceof WorkflowFailedError) throw endedError(handle.workflowId, await closedByFailure(handle.workflowId, err));
    throw err;
  } finally {
    stopWorkerCheck();
    process.off('SIGINT', onInterrupt);
    if (started) bar.stop();
  }
}

/** The bar's numbers: percent and ETA only once the total (and for the ETA a rate) is known. */
export function barNumbers(
  done: number,
  total: number | undefined,
  itemsPerSecond: number,
): { percent: string; done: number; all: string; speed: number; etaText: string } {
  const known = total !== undefined && total > 0;
  let eta = '-';
  if (known && done >= total) eta = '0s';
  else if (known && itemsPerSecond > 0) eta = formatDuration(((total - done) / itemsPerSecond) * 1000);
  return {
    percent: known ? `${Math.floor((Math.min(done, total) / total) * 100)}%` : '?%',
    done,
    all: total === undefined ? '?' : String(total),
    speed: Math.round(itemsPerSecond),
    etaText: eta,
  };
}
