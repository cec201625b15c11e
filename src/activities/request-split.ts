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
  const { batchId, slices, freeLanes } = input;
  const now = Date.now();
  const progress = [];
  for (const slice of slices) {
    const { succeeded, failed } = await deps.ledger.tally(batchId, slice.start, slice.start + slice.count);
    const done = succeeded + failed;
    progress.push({
      start: slice.start,
      left: slice.count - done,
      done,
      elapsedMs: Math.max(0, now - slice.launchedAt),
      lanes: slice.lanes,
    });
  }
  // A slice with nothing committed yet (just launched) is judged by the pace of the others.
  const paced = progress.filter((p) => p.done > 0);
  const msPerItem = paced.length === 0 ? Infinity : paced.reduce((sum, p) => sum + p.elapsedMs / p.done, 0) / paced.length;
  const candidates = progress
    .map((p) => ({ ...p, leftMs: p.left * (p.done > 0 ? p.elapsedMs / p.done : msPerItem), asked: p.lanes }))
    .filter((c) => c.left >= 2 && c.leftMs >= SPLIT_WORTH_MS);
  // Work left in time where some pace is known, else (nothing committed anywhere yet) in items.
  const work = (c: (typeof candidates)[number]) => (Number.isFinite(msPerItem) ? c.leftMs : c.left) / c.lanes;
  // Each free lane goes to the slice that would then finish last, as long as it has an item for it.
  for (let lane = 0; lane < freeLanes; lane++) {
    const slowest = candidates
      .filter((c) => c.lanes < c.left)
      .reduce<(typeof candidates)[number] | undefined>((a, c) => (a === undefined || work(c) > work(a) ? c : a), undefined);
    if (slowest === undefined) break;
    slowest.lanes++;
  }
  const asked = candidates.filter((c) => c.lanes > c.asked).map((c) => ({ sliceStart: c.start, pieces: c.lanes }));
  // A request waits in the ledger for its slice's attempt, should that not have started yet; one
  // the attempt has not taken yet is raised.
  for (const { sliceStart, pieces } of asked) await deps.ledger.requestSplit(batchId, sliceStart, pieces);
  return { asked };
}
