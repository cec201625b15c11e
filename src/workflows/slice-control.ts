/**
 * The workflow's side of slice control (INVARIANTS.md I15): a pause, a resume or a stop is written
 * to the ledger by a local activity, and the batch's running slices read it within half a second.
 * Each write takes a new generation; a slice obeys only writes made after its launch, so the
 * generation rides in the checkpoint and grows across continue-as-new.
 */
import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchControlState } from '../ledger/slice-control';
import { refreshActivityOptions } from './activity-options';

const { controlSlices } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

export class SliceControl {
  constructor(
    private readonly batchId: string,
    /** The generation slices launched now take; grows with every write and every lending. */
    public generation: number,
  ) {}

  /** A new generation, for a write or a lending: the slices launched before it obey it. */
  next(): number {
    return ++this.generation;
  }

  /**
   * Writes `state` at a new generation. Resolves false when the ledger did not take it: the
   * caller then falls back on cancelling the slices' activities, which reach them in a heartbeat.
   * Not cancellable: a cancelled batch still tells its slices to stop.
   */
  async send(state: BatchControlState): Promise<boolean> {
    const generation = this.next();
    try {
      await CancellationScope.nonCancellable(() => controlSlices({ batchId: this.batchId, state, generation }));
      return true;
    } catch {
      return false;
    }
  }
}
