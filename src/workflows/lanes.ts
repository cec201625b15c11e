/**
 * Lanes in slices (INVARIANTS.md I14, I15): the batch's C lanes, items in flight, held by its
 * running slices. A slice launches with up to lanesPerSlice(C) of them (src/contract/lanes.ts), so
 * a batch of hundreds of lanes runs as a few slice activities. Lanes that fall free while nothing
 * is left to launch in the window are lent to the running slices with the most work left, through
 * the ledger (lend-lanes.ts): no item changes slice, and lanes move only once the slice that held
 * them has returned, so never more than C items are in flight.
 */
import { proxyLocalActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import { lanesPerSlice } from '../contract/lanes';
import { refreshActivityOptions } from './activity-options';
import type { Window, WindowSlice } from './window';

const { lendLanes } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

/** What lending needs of the run. */
export interface LaneHost {
  readonly batchId: string;
  readonly concurrency: number;
  /** A new control generation for the lending (slice-control.ts). */
  nextGeneration(): number;
  /** Whether the window is in a state to lend: running, nothing left to launch, no quota hold, within its event budget. */
  mayLend(window: Window): boolean;
}

export class Lanes {
  /** The running slices and the lanes each holds. */
  private readonly held = new Map<WindowSlice, number>();
  /** While the ledger is being asked, no other slice's end asks. */
  lending = false;
  /** False once no running slice had items for more lanes; a new launch makes it worth asking again. */
  private worthLending = true;

  constructor(private readonly host: LaneHost) {}

  get inUse(): number {
    let sum = 0;
    for (const lanes of this.held.values()) sum += lanes;
    return sum;
  }

  get free(): number {
    return this.host.concurrency - this.inUse;
  }

  /** Lanes the slice holds now: those it launched with and those lent to it since. */
  of(slice: WindowSlice): number {
    return this.held.get(slice) ?? 0;
  }

  /**
   * Whether the next slice may launch now: with at least half the lanes it was cut for free (or
   * one per item, if fewer), so a slice never crawls along on a lane or two while the others it
   * was cut beside have all theirs.
   */
  mayLaunch(slice: WindowSlice): boolean {
    return this.free >= Math.min(Math.ceil(this.share(slice) / 2), slice.bounds.count);
  }

  /**
   * Lanes for a slice being launched: those it was cut for, or all the free lanes when fewer than
   * two slices' worth are free (no lane is left over to idle); never more than it has items.
   */
  take(slice: WindowSlice): number {
    const share = this.share(slice);
    const lanes = Math.max(1, Math.min(this.free < 2 * share ? this.free : share, slice.bounds.count));
    this.held.set(slice, lanes);
    this.worthLending = true;
    return lanes;
  }

  private share(slice: WindowSlice): number {
    return slice.bounds.lanes ?? lanesPerSlice(this.host.concurrency);
  }

  release(slice: WindowSlice): void {
    this.held.delete(slice);
  }

  /**
   * Lends the free lanes to running slices, round after round while lanes fall free, until none is
   * free or no slice has items left for more. A ledger that does not answer leaves the lanes idle
   * until the next slice ends.
   */
  async lend(window: Window): Promise<void> {
    if (this.lending) return;
    this.lending = true;
    try {
      while (this.worthLending && this.host.mayLend(window)) {
        const freeLanes = this.free;
        const running = [...this.held];
        if (freeLanes < 1 || running.length === 0) return;
        const { lent } = await lendLanes({
          batchId: this.host.batchId,
          slices: running.map(([slice, lanes]) => ({ ...slice.bounds, lanes })),
          freeLanes,
          generation: this.host.nextGeneration(),
        });
        for (const { sliceStart, lanes } of lent) {
          // A slice that ended while it was being asked has given its lanes back already.
          const slice = running.find(([s]) => s.bounds.start === sliceStart)?.[0];
          if (slice !== undefined && this.held.has(slice)) this.held.set(slice, lanes);
        }
        if (lent.length === 0) this.worthLending = false;
      }
    } catch {
      // The ledger did not answer: the slices run on with their own lanes.
    } finally {
      this.lending = false;
    }
  }
}
