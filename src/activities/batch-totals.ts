/**
 * batchTotals: the batch's committed counts from the ledger, for the workflow to show progress
 * while slices run (INVARIANTS.md I12). Runs as a local activity: one marker event per call, no task queue trip.
 */
import type { BatchTotalsInput } from '../contract/activity-io';
import type { CommittedCounts } from '../contract/slices';
import type { Ledger } from '../ledger/ledger';

export async function batchTotals(deps: { ledger: Ledger }, input: BatchTotalsInput): Promise<CommittedCounts> {
  const { succeeded, failed, redone } = await deps.ledger.totals(input.batchId);
  return { succeeded, failed, redone };
}
