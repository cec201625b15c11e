/** `--wait` and `status --watch`: a live progress bar from the workflow's progress query. */
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { progressQuery, type BatchProgress, type BatchSummary } from '../contract/messages';
import { describeState } from '../workflows/details';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { CliError } from '../user-error';

const POLL_MS = 500;

export async function watchBatch(handle: WorkflowHandle<typeof batchWorkflow>): Promise<BatchSummary> {
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
    if (err instanceof WorkflowFailedError) {
      throw new CliError(`batch ${handle.workflowId} failed: ${rootMessage(err)}`);
    }
    throw err;
  } finally {
    if (started) bar.stop();
  }
}

/** The innermost cause is the one that says what to fix (e.g. the activity's ApplicationFailure). */
export function rootMessage(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}
