/**
 * requestSplit: a lane has nothing left to launch while slices still run (INVARIANTS.md I14).
 * Picks the running slice with the most work left, by its own pace so far, and asks its attempt,
 * through the ledger, to hand back what it has not started. Runs as a local activity.
 */
import type { RequestSplitInput, RequestSplitResult } from '../contract/activity-io';
import type { Ledger } from '../ledger/ledger';

/**
 * Work left below which a slice is not split: a split costs its attempt's stop (up to a second,
 * the heartbeat tick that reads the request) and the history events of the new slices.
 */
export const SPLIT_WORTH_MS = 2000;

export async function requestSplit(deps: { ledger: Ledger }, input: RequestSplitInput): Promise<RequestSplitResult> {
  const { batchId, slices, pieces } = input;
  const now = Date.now();
  const progress = [];
  for (const slice of slices) {
    const { succeeded, failed } = await deps.ledger.tally(batchId, slice.start, slice.start + slice.count);
    const done = succeeded + failed;
    progress.push({ start: slice.start, left: slice.count - done, done, elapsedMs: Math.max(0, now - slice.launchedAt) });
  }
  // A slice with nothing committed yet (just launched) is judged by the pace of the others.
  const paced = progress.filter((p) => p.done > 0);
  const msPerItem = paced.length === 0 ? Infinity : paced.reduce((sum, p) => sum + p.elapsedMs / p.done, 0) / paced.length;
  const candidates = progress
    .map((p) => ({ ...p, leftMs: p.left * (p.done > 0 ? p.elapsedMs / p.done : msPerItem) }))
    .filter((p) => p.left >= 2 && p.leftMs >= SPLIT_WORTH_MS)
    .sort((a, b) => b.leftMs - a.leftMs || b.left - a.left);
  if (candidates.length === 0) return {};
  // The request waits in the ledger for the slice's attempt, should it not have started yet.
  await deps.ledger.requestSplit(batchId, candidates[0].start, pieces);
  return { sliceStart: candidates[0].start };
}
