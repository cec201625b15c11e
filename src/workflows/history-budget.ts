/**
 * How long one workflow run may grow before it continues-as-new (I2), whatever N says.
 */
import { workflowInfo } from '@temporalio/workflow';

/**
 * Events one run may grow to before it continues-as-new: well under the 4,096 at which
 * Temporal starts to suggest it (I2). A slice costs about 6 events (activity
 * scheduled/started/completed and a workflow task).
 */
export const EVENTS_PER_RUN_BUDGET = 2000;
const EVENTS_PER_SLICE = 6;
/** Room left in the budget for what a run does besides slices: signals, updates, upserts, finalize. */
const EVENTS_RESERVE = 100;

/** True when one more slice, next to those in flight, could take this run past its budget. */
export function historyBudgetSpent(slicesInFlight: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength + (slicesInFlight + 1) * EVENTS_PER_SLICE + EVENTS_RESERVE >= EVENTS_PER_RUN_BUDGET;
}
