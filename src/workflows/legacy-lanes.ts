/**
 * Lanes and their splits for idle lanes, in the runs of workflows older than lanes in slices
 * (INVARIANTS.md I14): there each lane was a task launching slices one after another, a slice ran
 * one item at a time, and a lane left with nothing to launch asked the running slices with the
 * most work left to split. Kept so that such runs replay the same; their asks are now answered
 * that no slice split (request-split.ts), and newer runs lend lanes instead (lanes.ts).
 */
import { condition, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import { refreshActivityOptions } from './activity-options';
import { historyBudgetSpent, splitFitsBudget } from './history-budget';
import type { Window, WindowSlice } from './window';

/** Runs recorded before idle lanes split running slices replay without it. */
const SPLIT_FOR_IDLE_LANES_PATCH = 'split-for-idle-lanes';

const { requestSplit } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

/** What the splits need of the run. */
export interface SplitHost {
  readonly batchId: string;
  readonly concurrency: number;
  readonly slicesInFlight: number;
  /** The slices in flight, with when each was launched. */
  readonly running: ReadonlyMap<WindowSlice, number>;
  /** Whether the window is in a state to split: running, nothing left to launch, no quota hold. */
  maySplit(window: Window): boolean;
}

export class IdleLaneSplits {
  /**
   * Splits idle lanes asked for and not yet answered: the slice asked, and how many free lanes its
   * new slices will take. Those lanes are not offered to another split meanwhile.
   */
  readonly pending = new Map<WindowSlice, number>();
  /** While the ledger is being asked, no other lane asks. */
  asking = false;
  /** False once no running slice had enough left to split; new slices make it worth asking again. */
  worthAsking = true;

  constructor(private readonly host: SplitHost) {}

  /**
   * Lanes without work while slices run: the ledger asks the running slices with the most work
   * left to stop at their next item boundary and hand the rest back cut for the free lanes.
   */
  async ask(window: Window): Promise<void> {
    // Lanes that fall idle during an ask are counted by the next round of this one.
    if (this.asking) return;
    this.asking = true;
    const host = this.host;
    try {
      while (this.worthAsking && host.maySplit(window)) {
        const promised = [...this.pending.values()].reduce((a, b) => a + b, 0);
        const freeLanes = host.concurrency - host.slicesInFlight - promised;
        const running = [...host.running];
        if (freeLanes < 1 || running.length === 0) return;
        if (!splitFitsBudget(host.slicesInFlight + promised, freeLanes + running.length) || !patched(SPLIT_FOR_IDLE_LANES_PATCH)) return;
        const { asked } = await requestSplit({
          batchId: host.batchId,
          slices: running.map(([slice, launchedAt]) => ({ ...slice.bounds, launchedAt, lanes: 1 + (this.pending.get(slice) ?? 0) })),
          freeLanes,
        });
        for (const { sliceStart, pieces } of asked) {
          // A slice that ended while it was being asked has nothing pending.
          const slice = running.find(([s]) => s.bounds.start === sliceStart)?.[0];
          if (slice !== undefined && host.running.has(slice)) this.pending.set(slice, pieces - 1);
        }
        if (asked.length > 0) continue;
        if (this.pending.size === 0) this.worthAsking = false;
        return;
      }
    } catch {
      // The ledger did not answer: the slices run on whole, and the next idle lane asks again.
    } finally {
      this.asking = false;
    }
  }
}

/** What a legacy lane needs of the run. */
export interface LegacyLaneHost {
  readonly concurrency: number;
  readonly slicesInFlight: number;
  readonly stopReason: string | undefined;
  readonly failure: Error | undefined;
  readonly replanRequested: boolean;
  readonly paused: boolean;
  readonly recutting: boolean;
  readonly splits: IdleLaneSplits;
  /** Tasks running slices; the lane counts itself out as it ends. */
  runners: number;
  outOfHistoryBudget: boolean;
  runNext(window: Window, slice: WindowSlice): Promise<void>;
  laneFailed(err: unknown): void;
}

/**
 * A legacy lane: launches the window's slices one after another until none is left or the run
 * stops. A lane left with nothing to launch asks for a running slice to be split (I14) as it ends.
 */
export async function runLegacyLane(host: LegacyLaneHost, window: Window): Promise<void> {
  let idle = false;
  try {
    while (host.stopReason === undefined && host.failure === undefined && !host.replanRequested) {
      if (window.unlaunched === 0) {
        idle = true;
        return;
      }
      // configure lowered the concurrency: surplus lanes end as their slice finishes.
      if (host.runners > host.concurrency) return;
      if (host.paused) {
        await condition(() => !host.paused || host.stopReason !== undefined || host.replanRequested);
        continue;
      }
      if (host.recutting) {
        await condition(() => !host.recutting);
        continue;
      }
      if (historyBudgetSpent(host.slicesInFlight)) {
        host.outOfHistoryBudget = true;
        return;
      }
      await host.runNext(window, window.launchNext());
    }
  } catch (err) {
    host.laneFailed(err);
  } finally {
    host.runners--;
    if (idle) void host.splits.ask(window);
  }
}
