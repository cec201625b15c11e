/**
 * lendLanes: lanes are free and nothing is left to launch in the window while slices still run
 * (INVARIANTS.md I14). Each free lane goes to the running slice with the most items not yet
 * started per lane, judged from the ledger's commits, and the slice hears of its new lanes at once
 * in this process (control-nudge.ts), within half a second in another, and starts more items.
 * Runs as a local activity. No item moves between slices, so none can run twice, and lanes only
 * move once their slice has returned: never more than C items in flight.
 */
import type { LendLanesInput, LendLanesResult } from '../contract/activity-io';
import type { Ledger } from '../ledger/ledger';
import { controlWritten } from './control-nudge';

export async function lendLanes(deps: { ledger: Ledger }, input: LendLanesInput): Promise<LendLanesResult> {
  const { batchId, slices, freeLanes, generation } = input;
  const candidates = [];
  for (const slice of slices) {
    const { succeeded, failed } = await deps.ledger.tally(batchId, slice.start, slice.start + slice.count);
    // Each lane has an item in flight, at most: what is neither committed nor running has not started.
    const notStarted = slice.count - succeeded - failed - slice.lanes;
    candidates.push({ start: slice.start, lanes: slice.lanes, given: 0, notStarted });
  }
  for (let lane = 0; lane < freeLanes; lane++) {
    const busiest = candidates
      .filter((c) => c.notStarted > c.given)
      .reduce<(typeof candidates)[number] | undefined>(
        (a, c) =>
          a === undefined || (c.notStarted - c.given) / (c.lanes + c.given) > (a.notStarted - a.given) / (a.lanes + a.given) ? c : a,
        undefined,
      );
    if (busiest === undefined) break;
    busiest.given++;
  }
  const lent = candidates.filter((c) => c.given > 0).map((c) => ({ sliceStart: c.start, lanes: c.lanes + c.given }));
  for (const { sliceStart, lanes } of lent) await deps.ledger.setSliceLanes(batchId, sliceStart, lanes, generation);
  if (lent.length > 0) controlWritten(batchId);
  return { lent };
}
