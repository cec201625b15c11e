/**
 * controlSlices: the workflow's pause, resume or stop, written to the ledger, where the batch's
 * running slices read it at once in this process (control-nudge.ts), within half a second in
 * another (INVARIANTS.md I12, I15). Runs as a local activity: one write, no heartbeat of any
 * slice needed to carry it.
 */
import type { ControlSlicesInput } from '../contract/activity-io';
import type { Ledger } from '../ledger/ledger';
import { controlWritten } from './control-nudge';

export async function controlSlices(deps: { ledger: Ledger }, input: ControlSlicesInput): Promise<void> {
  await deps.ledger.setBatchControl(input.batchId, { state: input.state, generation: input.generation });
  controlWritten(input.batchId);
}
