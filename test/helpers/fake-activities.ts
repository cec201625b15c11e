/**
 * Stand-in activities for workflow tests: a virtual source whose item i sits at byte offset
 * 10 * i, slices that can fail every n-th item, hit a quota once, or run until released, paused
 * or stopped through the control the workflow writes (as a real slice reads it from the ledger),
 * or cancelled; a finalize that records what it was asked, and ledger totals summed from the
 * slices' tallies. No ledger, no files: the workflow's own logic is what these tests look at.
 */
import { Context } from '@temporalio/activity';
import type { WaymarkActivities } from '../../src/activities';
import type { DeliverNotificationInput } from '../../src/activities/deliver-notification';
import type {
  ControlSlicesInput,
  FinalizeInput,
  LendLanesInput,
  PlanWindowInput,
  ProcessSliceInput,
  ProcessSliceResult,
  RequestSplitInput,
} from '../../src/contract/activity-io';
import type { SliceBounds } from '../../src/contract/slices';
import { evenSizes } from '../../src/sources/window-planner';
import { laneCeiling, type AdaptiveLanesView } from '../../src/contract/adaptive-concurrency';

export interface FakeOptions {
  /** Items whose index is a multiple of this fail. */
  failEvery?: number;
  /** The slice holding this item stops for quota once, with `quotaMs` to wait. */
  quotaOnceAt?: number;
  quotaMs?: number;
  /** What that quota stop names: the rate limit key that paces the slice or that a quota signal holds. */
  quotaOn?: { pacedOn?: string; heldOn?: string };
  /** The slices holding these items stop before them, each once, finding the batch's budget reached. */
  budgetAt?: number[];
  /** Slices from this item on run until `release()` (or cancellation). */
  gateFrom?: number;
  /** Every slice commits one item per attempt, then stops for this long, paced on a rate limit key. */
  pacedItemByItem?: { key: string; ms: number };
  /**
   * The slice holding this item runs until idle lanes ask for it to be split, then stops before
   * this item and hands back the rest cut for the lanes asked for (runs recorded before lanes in slices).
   */
  splitAt?: number;
  /**
   * The slice holding this item is slow: it runs until lanes are lent to it (as a real slice
   * reads them from the ledger), then finishes; every lending goes to it.
   */
  slowAt?: number;
  /** Slices that finish, and the ledger's counts read with a lane scope, tell these adaptive lanes, as a real pool would. */
  adaptiveLanes?: AdaptiveLanesView;
}

export function fakeActivities(totalItems: number, opts: FakeOptions = {}) {
  const record = {
    plans: [] as PlanWindowInput[],
    slices: [] as SliceBounds[],
    cancelled: [] as number[],
    finals: [] as FinalizeInput[],
    splitAsks: [] as RequestSplitInput[],
    /** Every processSlice call, with the lanes and control generation it was launched with. */
    launches: [] as ProcessSliceInput[],
    controls: [] as ControlSlicesInput[],
    lends: [] as LendLanesInput[],
    /** Slices that stopped because the control paused or stopped them, by first index. */
    stopped: [] as { start: number; reason: 'pause' | 'stop' }[],
    /** The lanes lent to the slow slice, once lent. */
    lentToSlow: undefined as number | undefined,
    notifications: [] as DeliverNotificationInput[],
  };
  /** The control as the ledger would hold it: the latest generation written. */
  let control: ControlSlicesInput | undefined;
  const stopFor = (launchedAt: number | undefined) =>
    control !== undefined && control.state !== 'run' && control.generation > (launchedAt ?? 0) ? control.state : undefined;
  let released = false;
  /** The tally each slice returned last, by first index: what a ledger would count. */
  const committedBySlice = new Map<number, { succeeded: number; failed: number; redone: number }>();
  let quotaPending = opts.quotaOnceAt !== undefined;
  const budgetSpent = new Set<number>();
  /** For pacedItemByItem: the next item of each slice, by its first index. */
  const nextOfSlice = new Map<number, number>();
  /** Lanes asked for the slice holding `splitAt`, once asked, by its first index. */
  const splitAsked = new Map<number, number>();

  const activities: WaymarkActivities = {
    async planWindow(input) {
      record.plans.push(input);
      const end = Math.min(totalItems, input.from.index + input.maxItems);
      const slices: SliceBounds[] = [];
      // Plain slices of S; with lanes in slices, each told the lanes of its place in a round.
      const shares = input.laneShares;
      for (let s = input.from.index; s < end; s += input.spec.sliceSize) {
        const e = Math.min(end, s + input.spec.sliceSize);
        const lanes = shares?.[slices.length % shares.length];
        slices.push({ start: s, count: e - s, startOffset: s * 10, endOffset: e * 10, ...(lanes !== undefined ? { lanes } : {}) });
      }
      return {
        plan: { slices, next: { index: end, offset: end * 10 }, exhausted: end >= totalItems },
        total: input.countTotal ? totalItems : undefined,
      };
    },
    async processSlice(input): Promise<ProcessSliceResult> {
      const { slice } = input;
      record.slices.push(slice);
      record.launches.push(input);
      const end = slice.start + slice.count;
      if (opts.gateFrom !== undefined && slice.start >= opts.gateFrom) {
        const ctx = Context.current();
        try {
          while (!released) {
            const reason = input.lanes === undefined ? undefined : stopFor(input.controlGeneration);
            if (reason !== undefined) {
              record.stopped.push({ start: slice.start, reason });
              return { outcome: 'stopped', reason, tally: { succeeded: 0, failed: 0, redone: 0 } };
            }
            ctx.heartbeat();
            await ctx.sleep(20);
          }
        } catch (err) {
          record.cancelled.push(slice.start);
          throw err;
        }
      }
      const slow = opts.slowAt;
      if (slow !== undefined && slow >= slice.start && slow < end) {
        const ctx = Context.current();
        while (record.lentToSlow === undefined) {
          ctx.heartbeat();
          await ctx.sleep(20);
        }
      }
      const at = opts.splitAt;
      if (at !== undefined && at > slice.start && at < end) {
        const ctx = Context.current();
        // As an attempt reads the ledger: a while after the first ask, so later asks may raise it.
        while (!splitAsked.has(slice.start)) {
          ctx.heartbeat();
          await ctx.sleep(20);
        }
        await ctx.sleep(200);
        const pieces = Math.min(splitAsked.get(slice.start)!, end - at);
        const rest = evenSizes(end - at, pieces).map((count, i, sizes) => {
          const start = at + sizes.slice(0, i).reduce((a, b) => a + b, 0);
          return { start, count, startOffset: start * 10, endOffset: (start + count) * 10 };
        });
        committedBySlice.set(slice.start, { succeeded: at - slice.start, failed: 0, redone: 0 });
        return { outcome: 'split', tally: { succeeded: at - slice.start, failed: 0, redone: 0 }, rest };
      }
      const budgetAt = opts.budgetAt?.find((at) => !budgetSpent.has(at) && at >= slice.start && at < end);
      if (budgetAt !== undefined) {
        budgetSpent.add(budgetAt);
        const tally = { succeeded: budgetAt - slice.start, failed: 0, redone: 0 };
        committedBySlice.set(slice.start, tally);
        return { outcome: 'quota', retryAfterMs: 0, nextIndex: budgetAt, tally, budgetReached: true };
      }
      if (quotaPending && opts.quotaOnceAt! >= slice.start && opts.quotaOnceAt! < end) {
        quotaPending = false;
        const doneBefore = opts.quotaOnceAt! - slice.start;
        committedBySlice.set(slice.start, { succeeded: doneBefore, failed: 0, redone: 0 });
        return {
          outcome: 'quota',
          retryAfterMs: opts.quotaMs!,
          nextIndex: opts.quotaOnceAt!,
          tally: { succeeded: doneBefore, failed: 0, redone: 0 },
          ...opts.quotaOn,
        };
      }
      if (opts.pacedItemByItem) {
        const next = (nextOfSlice.get(slice.start) ?? slice.start) + 1;
        nextOfSlice.set(slice.start, next);
        const tally = { succeeded: next - slice.start, failed: 0, redone: 0 };
        committedBySlice.set(slice.start, tally);
        if (next < end)
          return { outcome: 'quota', retryAfterMs: opts.pacedItemByItem.ms, nextIndex: next, tally, pacedOn: opts.pacedItemByItem.key };
        return { outcome: 'done', tally };
      }
      let failed = 0;
      if (opts.failEvery) for (let i = slice.start; i < end; i++) if (i % opts.failEvery === 0) failed++;
      committedBySlice.set(slice.start, { succeeded: slice.count - failed, failed, redone: 0 });
      return {
        outcome: 'done',
        tally: { succeeded: slice.count - failed, failed, redone: 0, ...(failed ? { failedByType: { rejected: failed } } : {}) },
        ...(opts.adaptiveLanes ? { adaptive: opts.adaptiveLanes } : {}),
      };
    },
    async batchTotals(input) {
      const sum = { succeeded: 0, failed: 0, redone: 0 };
      for (const t of committedBySlice.values()) {
        sum.succeeded += t.succeeded;
        sum.failed += t.failed;
        sum.redone += t.redone;
      }
      return opts.adaptiveLanes && input.laneScope !== undefined ? { ...sum, adaptive: opts.adaptiveLanes } : sum;
    },
    // Only the slice holding `splitAt` is worth splitting: it gets every free lane.
    async requestSplit(input) {
      record.splitAsks.push(input);
      const at = opts.splitAt;
      const slice = input.slices.find((s) => at !== undefined && at > s.start && at < s.start + s.count);
      if (slice === undefined) return { asked: [] };
      splitAsked.set(slice.start, slice.lanes + input.freeLanes);
      return { asked: [{ sliceStart: slice.start, pieces: slice.lanes + input.freeLanes }] };
    },
    async controlSlices(input) {
      record.controls.push(input);
      if (control === undefined || input.generation >= control.generation) control = input;
    },
    // Every free lane goes to the slow slice, if it runs; the others are too close to done.
    async lendLanes(input) {
      record.lends.push(input);
      const slow = input.slices.find((s) => opts.slowAt !== undefined && opts.slowAt >= s.start && opts.slowAt < s.start + s.count);
      if (slow === undefined) return { lent: [] };
      record.lentToSlow = slow.lanes + input.freeLanes;
      return { lent: [{ sliceStart: slow.start, lanes: slow.lanes + input.freeLanes }] };
    },
    // A receiver that takes every event at once.
    async deliverNotification(input) {
      record.notifications.push(input);
      return { status: 200 };
    },
    async finalize(input) {
      record.finals.push(input);
      const { succeeded, failed, redone } = await activities.batchTotals({ batchId: input.batchId });
      return {
        manifestPath: `/tmp/${input.batchId}.json`,
        manifest: {
          batchId: input.batchId,
          status: input.status,
          total: totalItems,
          succeeded,
          failed,
          pending: totalItems - succeeded - failed,
          pendingRanges: [],
          redone,
          runs: input.runs,
          startedAt: new Date(input.startedAt).toISOString(),
          finishedAt: new Date(input.finishedAt).toISOString(),
          durationMs: input.finishedAt - input.startedAt,
          itemsPerSecond: 0,
          resumeCostBound: 0,
          source: input.spec.source,
          processor: input.spec.processor.name,
          sliceSize: input.spec.sliceSize,
          checkpointEvery: input.spec.checkpointEvery,
          concurrency: laneCeiling(input.spec.concurrency),
          commitGroup: input.spec.commitGroup,
        },
      };
    },
  };
  return { activities, record, release: () => (released = true) };
}

export const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
