/**
 * requestSplit, for the runs of workflows older than lanes in slices (INVARIANTS.md I14): their
 * idle lanes asked running slices to split. A slice now runs many items at once and takes lanes
 * the workflow lends it through the ledger (lend-lanes.ts) instead, and never splits: the answer
 * is that no slice was asked, and such a run lets its slices finish whole.
 */
import type { RequestSplitResult } from '../contract/activity-io';

export function requestSplit(): Promise<RequestSplitResult> {
  return Promise.resolve({ asked: [] });
}
