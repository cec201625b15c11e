/** `--wait` and `status --watch`: a live progress bar from the workflow's progress query. */
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { progressQuery, type BatchProgress, type BatchSummary } from '../contract/messages';
import { describeState } from '../workflows/details';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { closedByFailure, endedError } from './batch-outcome';
import { reportMissingWorker } from './worker-presence';

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
      format: '{bar} {percentage}% | {value}/{total} items | {speed} items/s | ETA {eta_formatted} | failed {failed} | {state}',
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
    const payload = { speed: Math.round(doneItems / elapsed), failed: p.failed, state: describeState(p) };
    if (!started) {
      bar.start(p.total ?? 0, doneItems, payload);
      started = true;
    } else {
      if (p.total !== undefined) bar.setTotal(p.total);
      bar.update(doneItems, payload);
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
  const stopWorkerCheck = reportMissingWorker(handle.client, taskQueue ?? (await handle.describe()).taskQueue, say);

  let finished = false;
  const poll = (async () => {
    while (!finished) {
      try {
        show(await handle.query(progressQuery));
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
      bar.update(summary.total, { speed: Math.round(summary.itemsPerSecond), failed: summary.failed, state: 'completed' });
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
