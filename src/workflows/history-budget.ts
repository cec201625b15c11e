/**
 * How long one workflow run may grow before it continues-as-new (INVARIANTS.md I2), whatever N says.
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

/**
 * A refresh of the committed counts from the ledger (BatchRun): its timer started and fired (or
 * cancelled), a workflow task (3 events), the local activity's marker, a search attribute upsert.
 */
const EVENTS_PER_REFRESH = 7;

/** True when a refresh, next to the slices in flight, still fits this run's budget. */
export function refreshFitsBudget(slicesInFlight: number): boolean {
  const info = workflowInfo();
  return (
    !info.continueAsNewSuggested &&
    info.historyLength + slicesInFlight * EVENTS_PER_SLICE + EVENTS_PER_REFRESH + EVENTS_RESERVE < EVENTS_PER_RUN_BUDGET
  );
}

/** True when one more slice, next to those in flight, could take this run past its budget. */
export function historyBudgetSpent(slicesInFlight: number): boolean {
  const info = workflowInfo();
  return (
    info.continueAsNewSuggested || info.historyLength + (slicesInFlight + 1) * EVENTS_PER_SLICE + EVENTS_RESERVE >= EVENTS_PER_RUN_BUDGET
  );
}

/**
 * A split for idle lanes: the ask (a local activity's marker and a workflow task), then up to
 * `pieces` new slices next to those in flight (BatchRun.askForSplit).
 */
const EVENTS_PER_SPLIT_ASK = 4;

/** True when a split into `pieces` slices, next to the slices in flight, still fits this run's budget. */
export function splitFitsBudget(slicesInFlight: number, pieces: number): boolean {
  const info = workflowInfo();
  return (
    !info.continueAsNewSuggested &&
    info.historyLength + (slicesInFlight + pieces) * EVENTS_PER_SLICE + EVENTS_PER_SPLIT_ASK + EVENTS_RESERVE < EVENTS_PER_RUN_BUDGET
  );
}
