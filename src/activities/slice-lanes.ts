/**
 * A slice's lanes: up to `lanes` items of one slice in flight at once, so hundreds of slow items
 * run in a few slice activities, a few heartbeats and a few worker slots (INVARIANTS.md I15).
 *
 * Each lane takes the slice's next item without an outcome, in index order, has it marked in
 * flight, runs it and commits its outcome; the mark of the lane's next item rides on that commit,
 * and the commits of all lanes share a ledger transaction per turn (slice-session.ts). Items
 * start in index order, so what an attempt may have in flight is one range of the slice, and a
 * crash costs at most the items in flight: the resume-cost bound, C x max(k, M) (I5).
 *
 * A suspect that the next crash would dead-letter runs alone (suspect-items.ts, I8); a quota
 * signal stops every lane from starting more (I7), and reaches the batch's other slices through
 * the ledger; a pause, a stop or a cancel aborts the items in flight, which are redone.
 *
 * Over 400 lines: the lanes' turns, the suspects, the quota and control stops and the adaptive
 * lanes all decide which item starts next, and the bound rests on reading them together.
 */
import type { ProcessSliceResult } from '../contract/activity-io';
import type { OutcomeToCommit } from '../ledger/ledger';
import type { SourceItem } from '../sources/source';
import type { BudgetGuard } from './budget-guard';
import { SliceCancelledError, type ItemRunner, type QuotaStop } from './run-item';
import type { SliceSession } from './slice-session';
import type { SuspectItems } from './suspect-items';
import type { AdaptiveLanes, LaneMark } from './adaptive-lanes';

/**
 * A slice stopped by the budget tells an older workflow, which knows no budgets, to wait this long
 * and try again; a workflow that knows them pauses instead.
 */
const BUDGET_RECHECK_MS = 60_000;
/**
 * How often lanes check that the event loop turned: a processor that never waits on real I/O
 * would otherwise hold it for the whole slice.
 */
const YIELD_EVERY_MS = 10;

export interface SliceLanesOptions {
  session: SliceSession;
  suspects: SuspectItems;
  /** One runner per lane: each has its own attempt timer. */
  newRunner: () => ItemRunner;
  budget?: BudgetGuard;
  /** M: items per processor call (1 for a processor without processBatch). */
  itemsPerCall: number;
  /** True when the batch names a rate limit: its key's hold, not the batch's, carries a quota signal. */
  pacedByKey: boolean;
  /** Adaptive lanes (`concurrency: auto`): the slice runs the lanes its pool grants, within those the workflow gave it. */
  adaptive?: AdaptiveLanes;
}

/** The slice's items in index order, without those already settled, taken by one lane at a time. */
class ItemQueue {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly iterator: AsyncIterator<SourceItem>;
  private readonly putBack: SourceItem[] = [];
  private lastCheck = performance.now();
  /** Set when the event loop has turned since the last check (a setImmediate armed then has run). */
  private turned = true;
  exhausted = false;

  constructor(
    items: AsyncIterable<SourceItem>,
    private readonly session: SliceSession,
  ) {
    this.iterator = items[Symbol.asyncIterator]();
  }

  next(): Promise<SourceItem | undefined> {
    const taken = this.chain.then(() => this.pull());
    this.chain = taken.catch(() => undefined);
    return taken;
  }

  /**
   * Items taken and not run (a suspect met while a call was filling, or taken while a suspect
   * waits to run alone): the next takers get them, lowest first, so items still start in order.
   */
  putBackItems(items: SourceItem[]): void {
    this.putBack.push(...items);
    this.putBack.sort((a, b) => a.index - b.index);
  }

  /** Lets go of the source (its open file) when the lanes stopped before its end. */
  async close(): Promise<void> {
    if (!this.exhausted) await this.iterator.return?.();
  }

  private async pull(): Promise<SourceItem | undefined> {
    if (this.putBack.length > 0) return this.putBack.shift();
    if (performance.now() - this.lastCheck >= YIELD_EVERY_MS) {
      // Slow items turn the loop all the time: yielding anyway would hold a burst of takes for a turn.
      if (!this.turned) await new Promise((resolve) => setImmediate(resolve));
      this.turned = false;
      setImmediate(() => (this.turned = true));
      this.lastCheck = performance.now();
    }
    for (;;) {
      if (this.exhausted) return undefined;
      const next = await this.iterator.next();
      if (next.done === true) {
        this.exhausted = true;
        return undefined;
      }
      const item = next.value;
      if (item.index >= this.session.cursor && !this.session.isSettled(item.index)) return item;
    }
  }
}

export class SliceLanes {
  private readonly session: SliceSession;
  private queue!: ItemQueue;
  /** Lanes alive; a lane counts until it ends. */
  private active = 0;
  /** Items lanes have taken and not yet finished or given back: what a suspect waits for to run alone. */
  private taken = 0;
  private readonly cutShort: number[] = [];
  private quota: QuotaStop | undefined;
  private budgetReached = false;
  private failure: { error: unknown } | undefined;
  /** A suspect runs alone: while set, no lane takes a new item. */
  private solo = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: SliceLanesOptions) {
    this.session = opts.session;
  }

  async run(items: AsyncIterable<SourceItem>): Promise<ProcessSliceResult> {
    this.queue = new ItemQueue(items, this.session);
    this.session.onCommitted = (outcomes) => this.opts.budget?.committed(outcomes);
    await this.followPool();
    this.grow();
    this.session.onControl = () => this.grow();
    await this.until(() => this.active === 0 && !this.awaitingLanes());
    this.session.onControl = undefined;
    if (this.opts.adaptive) this.opts.adaptive.onGrant = undefined;
    await this.queue.close();
    return this.result();
  }

  /** Starts lanes up to the slice's lanes while there may be items left and nothing stops it. */
  private grow(): void {
    while (this.active < this.lanes && !this.queue.exhausted && this.mayStart()) {
      this.active++;
      void this.lane();
    }
    this.wake();
  }

  private mayStart(): boolean {
    if (this.failure !== undefined || this.quota !== undefined || this.budgetReached || this.session.stopping) return false;
    const now = Date.now();
    if (this.session.held(now)) {
      const left = this.session.heldUntil! - now;
      // Adaptive lanes wait a short hold out in the slice (waitOutHold), without stopping it.
      if (this.opts.adaptive?.waitsInSlice(left)) return true;
      // Another slice of the batch met a quota signal: this one waits with it.
      this.quota = { retryAfterMs: left };
      return false;
    }
    return true;
  }

  private async lane(): Promise<void> {
    const runner = this.opts.newRunner();
    let finished: OutcomeToCommit[] = [];
    let counted = true;
    try {
      for (;;) {
        if (this.solo) await this.until(() => !this.solo);
        // Fewer lanes now: this one retires, counted out at once so that only the surplus does.
        if (this.active > this.lanes) {
          this.active--;
          counted = false;
        }
        const call = !counted || !this.mayStart() ? undefined : await this.takeCall();
        // The outcomes of the lane's last call commit together with the mark of its next: one transaction.
        const commits = finished.map((o) => this.session.hold(o));
        finished = [];
        if (call === undefined) {
          await Promise.all(commits);
          return;
        }
        if (call.suspect) {
          await this.runAlone(runner, call.items[0], commits);
          continue;
        }
        let outcomes: OutcomeToCommit[] | undefined;
        try {
          outcomes = await this.markAndRun(runner, call.items, commits);
        } finally {
          this.taken -= call.items.length;
          this.wake();
        }
        if (outcomes === undefined) return;
        finished = outcomes;
      }
    } catch (err) {
      this.failure ??= { error: err };
    } finally {
      runner.close();
      if (counted) this.active--;
      this.wake();
    }
  }

  /**
   * Has the call marked in flight (with the lane's last outcomes) and runs it, unless the budget
   * or a stop that came meanwhile says not to: undefined then, and the lane ends.
   */
  private async markAndRun(runner: ItemRunner, items: SourceItem[], commits: Promise<void>[]): Promise<OutcomeToCommit[] | undefined> {
    if (this.opts.budget && (await this.opts.budget.reached(this.session.cursor))) {
      this.budgetReached = true;
      await Promise.all(commits);
      return undefined;
    }
    if (this.opts.adaptive) await this.waitOutHold();
    const first = items[0].index;
    await Promise.all([...commits, this.session.ensureMarked(first, items[items.length - 1].index - first + 1)]);
    // A stop may have come while the mark was written: nothing of this call has started.
    if (!this.mayStart()) return undefined;
    return this.runCall(runner, items);
  }

  /**
   * The items of the lane's next call (one item unless M > 1), or a suspect on its own; undefined
   * when none is left. Taken while a suspect waits to run alone, they go back for later.
   */
  private async takeCall(): Promise<{ items: SourceItem[]; suspect: boolean } | undefined> {
    const items: SourceItem[] = [];
    const room = Math.min(this.opts.itemsPerCall, this.session.groupRoom);
    while (items.length < room) {
      const item = await this.queue.next();
      if (item === undefined) break;
      if (this.opts.suspects.runsAlone(item.index)) {
        if (items.length === 0 && !this.solo) {
          // Set at once, so that no other lane takes a second suspect to run beside it.
          this.solo = true;
          return { items: [item], suspect: true };
        }
        this.queue.putBackItems([item]);
        break;
      }
      items.push(item);
    }
    if (items.length === 0) return this.queue.exhausted ? undefined : this.takeAfterSolo();
    if (this.solo) {
      this.queue.putBackItems(items);
      return this.takeAfterSolo();
    }
    this.taken += items.length;
    return { items, suspect: false };
  }

  /** A suspect runs alone now: the lane takes its next call once it has. */
  private async takeAfterSolo(): Promise<{ items: SourceItem[]; suspect: boolean } | undefined> {
    await this.until(() => !this.solo);
    return this.mayStart() ? this.takeCall() : undefined;
  }

  /** Runs one call (or one item) and returns the outcomes to commit; a quota signal or a stop ends the lane's work. */
  private async runCall(runner: ItemRunner, items: SourceItem[]): Promise<OutcomeToCommit[]> {
    this.session.running += items.length;
    const started = this.opts.adaptive?.mark();
    try {
      if (items.length === 1) {
        const run = await runner.run(items[0]);
        if (run.kind === 'quota') {
          await this.quotaMet(run, items, started);
          return [];
        }
        this.opts.budget?.spent(run.outcome);
        this.countClean([run.outcome], started);
        return [run.outcome];
      }
      const run = await runner.runCall(items);
      for (const outcome of run.outcomes) this.opts.budget?.spent(outcome);
      this.countClean(run.outcomes, started);
      if (run.quota) {
        const nextIndex = run.quota.nextIndex;
        await this.quotaMet(
          run.quota,
          items.filter((i) => i.index >= nextIndex),
          started,
        );
      }
      return run.outcomes;
    } catch (err) {
      if (err instanceof SliceCancelledError) {
        // Stopped midway: no outcome, and the attempt that resumes the slice counts them redone.
        this.cutShort.push(...items.map((i) => i.index).filter((i) => !this.session.isSettled(i)));
        return [];
      }
      throw err;
    } finally {
      this.session.running -= items.length;
    }
  }

  /**
   * A suspect the next crash would dead-letter (INVARIANTS.md I8) runs alone: the other lanes
   * finish and commit what they run, then it runs under the batch-wide suspect lease, marked in
   * flight on its own, so a crash now is its own.
   */
  private async runAlone(runner: ItemRunner, item: SourceItem, commits: Promise<void>[]): Promise<void> {
    try {
      await Promise.all(commits);
      await this.until(() => this.taken === 0);
      await this.session.flushHeld();
      if (!this.mayStart()) return;
      try {
        await this.opts.suspects.takeLease();
      } catch (err) {
        // Asked to stop while waiting: the suspect never started.
        if (err instanceof SliceCancelledError) return;
        throw err;
      }
      try {
        await this.session.ensureMarked(item.index);
        const outcomes = await this.runCall(runner, [item]);
        for (const outcome of outcomes) await this.session.hold(outcome);
        await this.session.flushHeld();
      } finally {
        await this.opts.suspects.releaseLease();
      }
    } finally {
      this.solo = false;
      this.wake();
    }
  }

  /**
   * A quota signal, or a rate limit's wait too long to sleep in the slice: no lane starts another
   * item, and without a named limit the batch's other slices hear of it through the ledger.
   */
  private async stopForQuota(stop: QuotaStop): Promise<void> {
    if (this.quota === undefined || stop.retryAfterMs > this.quota.retryAfterMs) this.quota = stop;
    if (!this.opts.pacedByKey) await this.session.holdBatch(Date.now() + stop.retryAfterMs);
  }

  /** The lanes the slice may run now: those the workflow gave it, within what its pool grants an adaptive batch. */
  private get lanes(): number {
    const { adaptive } = this.opts;
    return adaptive === undefined ? this.session.lanes : Math.min(this.session.lanes, adaptive.granted);
  }

  /** Adaptive lanes: the pool is told what the slice could use, and each grant starts (or retires) lanes. */
  private async followPool(): Promise<void> {
    const { adaptive } = this.opts;
    if (adaptive === undefined) return;
    adaptive.want = () => (this.queue.exhausted ? this.session.running : this.session.lanes);
    await adaptive.begin();
    adaptive.onGrant = () => this.grow();
  }

  /** Items are left and nothing stops the slice, but its pool grants it no lane yet: it waits for one. */
  private awaitingLanes(): boolean {
    return this.opts.adaptive !== undefined && this.lanes === 0 && !this.queue.exhausted && this.mayStart();
  }

  /** Items that succeeded at their first attempt with every lane busy tell an adaptive pool the lanes may grow. */
  private countClean(outcomes: OutcomeToCommit[], started: LaneMark | undefined): void {
    if (started === undefined) return;
    const saturated = this.session.running >= this.lanes;
    for (const o of outcomes) if (o.status === 'succeeded' && o.attempts === 1) this.opts.adaptive!.succeeded(started, saturated);
  }

  /**
   * A quota signal, or a rate limit's long wait. With adaptive lanes a signal cuts them, and a
   * wait short enough is waited out in the slice: the items go back to be taken again after it,
   * charged nothing. Otherwise the slice stops (stopForQuota).
   */
  private async quotaMet(stop: QuotaStop, items: SourceItem[], started: LaneMark | undefined): Promise<void> {
    const { adaptive } = this.opts;
    if (adaptive !== undefined && stop.signal !== undefined) await adaptive.signal(started!, stop.signal);
    if (adaptive === undefined || !adaptive.waitsInSlice(stop.retryAfterMs)) {
      await this.stopForQuota(stop);
      return;
    }
    if (!this.opts.pacedByKey) await this.session.holdBatch(Date.now() + stop.retryAfterMs);
    this.queue.putBackItems(items);
  }

  /** Adaptive lanes: no item starts while a short quota hold lasts; a pause or stop ends the wait, a long hold the slice (mayStart). */
  private async waitOutHold(): Promise<void> {
    while (this.session.held() && !this.session.stopping && this.opts.adaptive!.waitsInSlice(this.session.heldUntil! - Date.now())) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.session.heldUntil! - Date.now());
        const signal = this.session.signal;
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private async result(): Promise<ProcessSliceResult> {
    const { session } = this;
    if (this.failure !== undefined) {
      // What finished is kept where the ledger still takes it; the failure is what the slice reports.
      await session.stopCutShort(this.cutShort).catch(() => undefined);
      throw this.failure.error;
    }
    if (session.stopCause === 'cancelled') throw await session.stopCancelled(this.cutShort);
    if (session.stopCause !== undefined) {
      await session.stopCutShort(this.cutShort);
      session.returned('stopped');
      return { outcome: 'stopped', reason: session.stopCause, tally: await session.returnedTally() };
    }
    if (this.quota !== undefined) {
      await session.stopForQuota();
      const { retryAfterMs, pacedOn, heldOn } = this.quota;
      return {
        outcome: 'quota',
        retryAfterMs,
        nextIndex: session.cursor,
        tally: await session.returnedTally(),
        ...(pacedOn && { pacedOn }),
        ...(heldOn && { heldOn }),
      };
    }
    if (this.budgetReached) {
      await session.stopForQuota('budget');
      return {
        outcome: 'quota',
        retryAfterMs: BUDGET_RECHECK_MS,
        nextIndex: session.cursor,
        tally: await session.returnedTally(),
        budgetReached: true,
      };
    }
    // A worker shutting down: what ran is committed, the slice goes on elsewhere with nothing to redo.
    if (session.draining) throw await session.stopCancelled(this.cutShort);
    await session.finish();
    // Every lane ended with nothing stopping them: every item must have its outcome.
    if (session.cursor < session.end)
      throw new Error(`slice ${session.start}-${session.end - 1} ended with items from ${session.cursor} left`);
    return { outcome: 'done', tally: await session.returnedTally() };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once `ready` holds; checked again whenever a lane or an item ends. */
  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
