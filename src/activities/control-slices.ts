/**
 * controlSlices: the workflow's pause, resume or stop, written to the ledger, where the batch's
 * running slices read it within half a second (INVARIANTS.md I12, I15). Runs as a local activity:
 * one write, no heartbeat of any slice needed to carry it.
 */
import type { ControlSlicesInput } from '../contract/activity-io';
import type { Ledger } from '../ledger/ledger';

export async function controlSlices(deps: { ledger: Ledger }, input: ControlSlicesInput): Promise<void> {
  await deps.ledger.setBatchControl(input.batchId, { state: input.state, generation: input.generation });
}
