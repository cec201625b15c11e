/**
 * batchTotals: the batch's committed counts from the ledger, for the workflow to show progress
 * while slices run (INVARIANTS.md I12). Runs as a local activity: one marker event per call, no task queue trip.
 */
import type { BatchTotalsInput, BatchTotalsResult } from '../contract/activity-io';
import type { Ledger } from '../ledger/ledger';

export async function batchTotals(deps: { ledger: Ledger }, input: BatchTotalsInput): Promise<BatchTotalsResult> {
  const [{ succeeded, failed, redone }, usage, adaptive] = await Promise.all([
    deps.ledger.totals(input.batchId),
    deps.ledger.usageTotals(input.batchId),
    input.laneScope === undefined ? undefined : deps.ledger.laneView(input.laneScope, input.batchId),
  ]);
  // Usage and lanes only when there are some: a batch without either keeps the marker it always recorded.
  return {
    succeeded,
    failed,
    redone,
    ...(Object.keys(usage).length > 0 ? { usage } : {}),
    ...(adaptive !== undefined ? { adaptive } : {}),
  };
}
