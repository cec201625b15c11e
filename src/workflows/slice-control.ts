/**
 * The workflow's side of slice control (INVARIANTS.md I15): a pause, a resume or a stop is written
 * to the ledger by a local activity, and the batch's running slices read it within half a second.
 * Each write takes a new generation; a slice obeys only writes made after its launch, so the
 * generation rides in the checkpoint and grows across continue-as-new. Each slice's activity
 * also runs in a cancellation scope of its own, the way legacy runs (and a ledger that did not
 * take a write) pause and stop exactly the slices in flight.
 */
import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchControlState } from '../ledger/slice-control';
import { refreshActivityOptions } from './activity-options';

const { controlSlices } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

export class SliceControl {
  private readonly scopes = new Set<CancellationScope>();

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

  /** Slice activities running now. */
  get running(): number {
    return this.scopes.size;
  }

  /** Runs a slice's activity in a scope of its own, which halt may cancel; a cancelled slice stops at an item boundary. */
  async inScope<T>(activity: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.scopes.add(scope);
    try {
      return await scope.run(activity);
    } finally {
      this.scopes.delete(scope);
    }
  }

  /**
   * Pauses or stops the running slices: through the ledger with lanes in slices, where they read it
   * within half a second; by cancelling their activities in legacy runs, or when the ledger did not
   * take the write (a cancel reaches a slice with its next heartbeat).
   */
  async halt(state: 'pause' | 'stop', throughLedger: boolean): Promise<void> {
    if (throughLedger && (await this.send(state))) return;
    for (const scope of this.scopes) scope.cancel();
  }
}
