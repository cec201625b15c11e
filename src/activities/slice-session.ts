/**
 * One attempt's hold on its slice: the claim that fences older attempts out of the ledger, the
 * resume point, the in-flight range and the commits that carry it, the heartbeat, the control the
 * workflow writes to the ledger, and the cancellation that reaches the items in progress. What it
 * does not decide is which item runs next; the slice's lanes do (slice-lanes.ts).
 *
 * Over 400 lines: the claim, the in-flight range, the commits, the heartbeats and the control
 * reads all fence or report one attempt, and each depends on the others' state.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { InFlight, InterruptedItem, Ledger, OutcomeToCommit, SliceControlState } from '../ledger/ledger';
import type { ProcessSliceInput } from '../contract/activity-io';
import type { CommittedCounts, SliceHeartbeat, SliceTally } from '../contract/slices';
import type { SliceMetrics } from '../telemetry/batch-metrics';
import { succeededBefore } from '../redrive/redriven-batch';
import { uncommittedPerSlice } from '../contract/batch-spec';
import { RecordedHeartbeats } from './recorded-heartbeats';
import { gatherAtTurnEnd } from '../ledger/turn-end';
import { onControlWritten } from './control-nudge';

/**
 * How often the attempt tells the SDK it is alive when no commit has: the SDK sends at most one
 * heartbeat per throttle interval (0.8 x heartbeatTimeout at the worker's settings, 24 s at the
 * default), with the latest details, so this only keeps a slice of slow items from timing out.
 */
const LIVENESS_EVERY_MS = 5000;
/**
 * The first heartbeat waits this share of the heartbeat timeout: the SDK sends a first heartbeat
 * at once, and each one is a Temporal Cloud action, which a slice that ends sooner never needs.
 */
const FIRST_HEARTBEAT_SHARE = 0.5;
/** A commit hands the SDK fresh details at most this often; the SDK sends them on its own schedule. */
const DETAILS_AFTER_COMMIT_MS = 250;
/**
 * How often the attempt reads its control from the ledger (pause, stop, lanes, a quota hold):
 * what a pause or cancel waits at most before the slice's items stop (one indexed read).
 */
const CONTROL_POLL_MS = 500;

/** Why the slice's items were told to stop: the workflow's control, or Temporal's cancellation. */
export type StopCause = 'pause' | 'stop' | 'cancelled';

interface Flush {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SliceSession {
  readonly batchId: string;
  readonly start: number;
  readonly end: number;
  /** First index of the slice not yet committed: what the heartbeat reports. */
  cursor: number;
  /** Aborted by a cancel, a stop or a pause, or a lost slice: the items in progress stop. */
  readonly signal: AbortSignal;
  /** What stopped the items, once something did. */
  stopCause: StopCause | undefined;
  /** The lanes the workflow gave this slice: at launch, then as the ledger says. */
  lanes: number;
  /** Until when (epoch ms) a quota signal holds the batch's slices, as the ledger last said. */
  heldUntil: number | undefined;
  /** Items running now, for the heartbeat: how many lanes are in use. */
  running = 0;
  /** Told after each read of the control, so the lanes can grow to a raised count at once. */
  onControl: (() => void) | undefined;
  /** Told of the outcomes of each commit, once they are in the ledger (the budget's count). */
  onCommitted: ((outcomes: OutcomeToCommit[]) => void) | undefined;
  /** The worker is shutting down (SIGTERM): items finish and commit, then the slice goes on elsewhere. */
  draining = false;
  private readonly itemAbort = new AbortController();
  private readonly pending: OutcomeToCommit[] = [];
  private readonly commitGroup: number;
  private beat: NodeJS.Timeout | undefined;
  private controlPoll: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private polling = false;
  /** A write heard of while a read was under way: read again once it is done. */
  private pollAgain = false;
  /** The slice's committed outcomes, every attempt's: read at begin, then counted per commit (INVARIANTS.md I12). */
  private readonly committed: CommittedCounts = { succeeded: 0, failed: 0, redone: 0 };
  private lastDetails = 0;
  /** No heartbeat before this (performance.now() ms): see FIRST_HEARTBEAT_SHARE. */
  private firstHeartbeatAt = 0;
  private recorded: RecordedHeartbeats | undefined;
  /** First item this attempt marked in flight: the in-flight range starts here. */
  private firstMarked: number | undefined;
  /** One past the last item the ledger holds marked in flight, and what the next commit marks. */
  private durableTo = 0;
  private wantedTo = 0;
  /** The last item that asked for a mark since the last commit: the next commit marks its commit group too. */
  private markAt: number | undefined;
  /** The commit being written, and the one that waits for it with what came since. */
  private writing: Promise<void> | undefined;
  private next: Flush | undefined;

  private constructor(
    private readonly ctx: Context,
    private readonly ledger: Ledger,
    private readonly metrics: SliceMetrics,
    private readonly input: ProcessSliceInput,
    readonly owner: string,
    /** The items the previous attempt left in flight and nobody has committed since, if any. */
    readonly interrupted: InterruptedItem | null,
    /** Items this attempt leaves alone: committed, or succeeded in the batch a redrive redrives. */
    private readonly settled: Set<number>,
  ) {
    this.batchId = input.batchId;
    this.start = input.slice.start;
    this.end = input.slice.start + input.slice.count;
    this.cursor = this.start;
    this.commitGroup = uncommittedPerSlice(input.spec);
    this.signal = this.itemAbort.signal;
    this.lanes = Math.max(1, input.lanes ?? 1);
  }

  /** Claims the slice for this attempt and reads what is already settled in it. */
  static async claim(ctx: Context, ledger: Ledger, metrics: SliceMetrics, input: ProcessSliceInput): Promise<SliceSession> {
    const { batchId, spec, slice } = input;
    const end = slice.start + slice.count;
    // One owner per attempt: a newer attempt fences this one out of the ledger (see claimSlice).
    const owner = `${ctx.info.activityId}/${ctx.info.attempt}/${randomUUID()}`;
    const interrupted = await ledger.claimSlice(batchId, slice.start, owner);
    const settled = new Set(await ledger.committedIndexes(batchId, slice.start, end));
    for (const index of await succeededBefore(ledger, spec, slice.start, end)) settled.add(index);
    return new SliceSession(ctx, ledger, metrics, input, owner, interrupted, settled);
  }

  get log(): Context['log'] {
    return this.ctx.log;
  }

  isSettled(index: number): boolean {
    return this.settled.has(index);
  }

  /** The items the previous attempt left in flight that still have no outcome: each is redone now. */
  interruptedItems(): number[] {
    const { interrupted } = this;
    if (interrupted === null) return [];
    const out: number[] = [];
    for (let i = interrupted.index; i < Math.min(interrupted.to ?? interrupted.index + 1, this.end); i++) {
      if (!this.settled.has(i)) out.push(i);
    }
    return out;
  }

  /** True once a cancellation, a stop, a pause or a worker shutdown asks the items to stop. */
  get stopping(): boolean {
    return this.draining || this.itemAbort.signal.aborted;
  }

  /** True while a quota hold another slice met (or this one) keeps items from starting. */
  held(now = Date.now()): boolean {
    return this.heldUntil !== undefined && this.heldUntil > now;
  }

  /**
   * Moves the cursor to where this attempt resumes, reads the slice's committed tally, then
   * heartbeats both, listens for cancellation and polls its control.
   */
  async begin(): Promise<void> {
    const { ctx } = this;
    const { succeeded, failed, redone } = await this.tally();
    Object.assign(this.committed, { succeeded, failed, redone });
    // The ledger is the truth; the heartbeat cursor can only confirm it. Should it be ahead (a
    // ledger that lost its last commits), the items in between are redone rather than skipped.
    this.advanceCursor();
    const heartbeat = ctx.info.heartbeatDetails as SliceHeartbeat | undefined;
    if (heartbeat && heartbeat.cursor > this.cursor) {
      ctx.log.warn('heartbeat cursor is ahead of the ledger; resuming from the ledger', {
        batchId: this.batchId,
        heartbeat: heartbeat.cursor,
        ledger: this.cursor,
      });
    }
    const timeoutMs = ctx.info.heartbeatTimeoutMs ?? 30_000;
    this.recorded = new RecordedHeartbeats(timeoutMs);
    // A retry heartbeats at once: it is rare, and its details replace those of the attempt that died.
    this.firstHeartbeatAt = ctx.info.attempt > 1 || heartbeat !== undefined ? 0 : performance.now() + timeoutMs * FIRST_HEARTBEAT_SHARE;
    const liveness = Math.max(200, Math.min(LIVENESS_EVERY_MS, Math.floor(timeoutMs / 3)));
    this.beat = setInterval(() => this.heartbeat(), liveness);
    ctx.cancellationSignal.addEventListener('abort', this.onCancel, { once: true });
    this.heartbeat();
    await this.pollControl();
    this.controlPoll = setInterval(() => void this.pollControl(), CONTROL_POLL_MS);
    this.stopListening = onControlWritten(this.batchId, () => void this.pollControl(true));
  }

  /**
   * Resolves once the ledger holds the `span` items from `index` marked in flight: the attempt
   * that resumes after a crash then counts them as redone. A mark covers the commit group that
   * starts at `index`, so a group marks once; and it rides on the commit of the outcomes held
   * when it is asked for, so a slice of single commits writes one transaction per item.
   */
  ensureMarked(index: number, span = 1): Promise<void> {
    this.firstMarked ??= index;
    if (index + span <= this.durableTo) return Promise.resolve();
    this.wantedTo = Math.max(this.wantedTo, Math.min(index + span, this.end));
    this.markAt = Math.max(this.markAt ?? index, index);
    return this.requestFlush();
  }

  /** Adds an outcome to the open commit group; resolves once it is committed, or at once while the group has room. */
  hold(outcome: OutcomeToCommit): Promise<void> {
    this.pending.push(outcome);
    return this.pending.length >= this.commitGroup ? this.requestFlush() : Promise.resolve();
  }

  /** How many more items the open commit group takes: a call takes no more. */
  get groupRoom(): number {
    return Math.max(1, this.commitGroup - this.pending.length);
  }

  /** Commits whatever is held, with the marks asked so far. */
  flushHeld(): Promise<void> {
    return this.pending.length > 0 || this.wantedTo > this.durableTo ? this.requestFlush() : (this.writing ?? Promise.resolve());
  }

  /**
   * Commits happen one at a time per slice: what the lanes hold while one is written goes in the
   * next, in one transaction, so many lanes cost about one commit per turn of the event loop. The
   * gather runs as the turn ends (or before, turn-end.ts), just before the SQLite ledger writes.
   */
  private requestFlush(): Promise<void> {
    if (this.next === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.next = { promise, resolve, reject };
      if (this.writing === undefined) gatherAtTurnEnd(() => this.write());
    }
    return this.next.promise;
  }

  private write(): void {
    const flush = this.next;
    if (flush === undefined) return;
    this.next = undefined;
    const outcomes = this.pending.splice(0);
    // The group that starts after this commit is marked whole: its next items need no commit of their own.
    if (this.markAt !== undefined) this.wantedTo = Math.max(this.wantedTo, Math.min(this.markAt + this.commitGroup, this.end));
    this.markAt = undefined;
    const to = this.wantedTo;
    this.writing = this.commit(outcomes, this.rangeTo(to)).then(
      () => {
        this.durableTo = Math.max(this.durableTo, to);
        flush.resolve();
      },
      (err: unknown) => flush.reject(err),
    );
    void this.writing.finally(() => {
      this.writing = undefined;
      if (this.next !== undefined) gatherAtTurnEnd(() => this.write());
    });
  }

  private rangeTo(to: number): InFlight {
    return this.firstMarked === undefined || to <= this.firstMarked ? null : { from: this.firstMarked, to };
  }

  private async commit(outcomes: OutcomeToCommit[], inFlight: InFlight): Promise<void> {
    await this.ledger.commit(this.batchId, this.start, outcomes, inFlight, this.owner);
    if (outcomes.length === 0) return;
    this.onCommitted?.(outcomes);
    this.metrics.itemsCommitted(outcomes);
    for (const o of outcomes) this.settled.add(o.index);
    this.count(outcomes);
    this.advanceCursor();
    if (performance.now() - this.lastDetails >= DETAILS_AFTER_COMMIT_MS) this.heartbeat();
  }

  /** Waits for the commit being written, then writes what is left, leaving nothing marked in flight. */
  private async settle(): Promise<void> {
    while (this.writing !== undefined || this.next !== undefined) await (this.next?.promise ?? this.writing);
    this.firstMarked = undefined;
    this.wantedTo = this.durableTo = 0;
    await this.commit(this.pending.splice(0), null);
  }

  /** Commits one outcome on its own, outside the open group (a dead-lettered item). */
  async commitAlone(outcome: OutcomeToCommit): Promise<void> {
    await this.ledger.commit(this.batchId, this.start, [outcome], null, this.owner);
    this.metrics.itemsCommitted([outcome]);
    this.settled.add(outcome.index);
    this.count([outcome]);
    this.advanceCursor();
  }

  /**
   * Commits outcomes collected from a provider job (src/activities/provider-collect.ts) in one
   * transaction, with nothing in flight. A job cut for an earlier window may hold items of other
   * slices too: those are committed as well (I3 keeps their first outcome), but counted here only
   * as the ledger counts them.
   */
  async commitCollected(outcomes: OutcomeToCommit[]): Promise<void> {
    await this.ledger.commit(this.batchId, this.start, outcomes, null, this.owner);
    const own = outcomes.filter((o) => o.index >= this.start && o.index < this.end && !this.settled.has(o.index));
    this.metrics.itemsCommitted(own);
    for (const o of own) this.settled.add(o.index);
    this.count(own);
    this.advanceCursor();
  }

  /** Every item is through: commits the rest. */
  async finish(): Promise<void> {
    await this.settle();
    this.metrics.sliceReturned('done');
  }

  /**
   * A quota ran dry, or the batch's budget is reached, and no item is running: commits what
   * finished and leaves nothing in flight, so the wait costs no item. Only a quota counts as a quota wait.
   */
  async stopForQuota(reason: 'quota' | 'budget' = 'quota'): Promise<void> {
    await this.settle();
    if (reason === 'quota') this.metrics.quotaWait();
    this.metrics.sliceReturned('quota');
  }

  /**
   * The items stopped: what finished is committed, the items in `cutShort` (stopped midway) are
   * not, and are left marked so the attempt that resumes the slice counts them as redone.
   */
  async stopCutShort(cutShort: number[]): Promise<void> {
    await this.settle();
    if (cutShort.length > 0) {
      const from = Math.min(...cutShort);
      await this.ledger.markCutShort(this.batchId, this.start, { from, to: Math.max(...cutShort) + 1 }, this.owner);
    }
  }

  /** Temporal cancelled the attempt (or the worker shuts down): a CancelledFailure once its items stopped. */
  async stopCancelled(cutShort: number[]): Promise<CancelledFailure> {
    await this.stopCutShort(cutShort);
    return new CancelledFailure(`slice ${this.start}-${this.end - 1} cancelled at item ${this.cursor}`);
  }

  /** The quota hold reaches every slice of the batch through the ledger, not only this one's lanes. */
  async holdBatch(until: number): Promise<void> {
    this.heldUntil = Math.max(this.heldUntil ?? 0, until);
    await this.ledger.holdBatch(this.batchId, until, this.input.controlGeneration ?? 0);
  }

  /** The slice's tally as the attempt returns it: the ledger's, and the heartbeats the attempt cost. */
  async returnedTally(): Promise<SliceTally> {
    return { ...(await this.tally()), heartbeats: this.recorded?.settle() ?? 0 };
  }

  /** The slice's committed outcomes, of every attempt, before `end` (by default, all of them). */
  tally(end = this.end): Promise<SliceTally> {
    return this.ledger.tally(this.batchId, this.start, end);
  }

  private advanceCursor(): void {
    while (this.cursor < this.end && this.settled.has(this.cursor)) this.cursor++;
  }

  private count(outcomes: OutcomeToCommit[]): void {
    for (const o of outcomes) this.committed[o.status]++;
  }

  private heartbeat(): void {
    if (performance.now() < this.firstHeartbeatAt) return;
    this.lastDetails = performance.now();
    this.recorded?.called(this.lastDetails);
    this.ctx.heartbeat({ cursor: this.cursor, sliceStart: this.start, ...this.committed, lanes: this.running } satisfies SliceHeartbeat);
  }

  /**
   * Reads the control the workflow wrote, and any quota hold: the lanes then only look at fields.
   * `written`: this process has just written it (control-nudge.ts), so a read under way may predate it.
   */
  private async pollControl(written = false): Promise<void> {
    if (this.polling) {
      this.pollAgain ||= written;
      return;
    }
    this.polling = true;
    let control: SliceControlState;
    try {
      control = await this.ledger.sliceControl(this.batchId, this.start);
    } catch {
      // The ledger did not answer: the next tick asks again, and the slice runs on meanwhile.
      return;
    } finally {
      this.polling = false;
      if (this.pollAgain) {
        this.pollAgain = false;
        void this.pollControl();
      }
    }
    // A write made before this slice's launch (a pause a later resume undid, lanes lent to an
    // earlier attempt of it) is not for it.
    const launched = this.input.controlGeneration ?? 0;
    if (control.lanes !== undefined && control.lanes.generation > launched) this.lanes = Math.max(1, control.lanes.lanes);
    // A hold met by a slice of this launch or a later one; one the workflow already waited out is older.
    if (control.held !== undefined && control.held.generation >= launched)
      this.heldUntil = Math.max(this.heldUntil ?? 0, control.held.until);
    const batch = control.batch;
    if (batch !== undefined && batch.state !== 'run' && batch.generation > launched) this.stop(batch.state);
    this.onControl?.();
  }

  /** Counts how the slice's attempt ended, for the metrics. */
  returned(how: Parameters<SliceMetrics['sliceReturned']>[0]): void {
    this.metrics.sliceReturned(how);
  }

  private stop(cause: StopCause): void {
    this.stopCause ??= cause;
    this.itemAbort.abort();
  }

  /** Stops the timers and the cancellation listener. */
  close(): void {
    clearInterval(this.beat);
    clearInterval(this.controlPoll);
    this.stopListening?.();
    this.stopListening = undefined;
    this.ctx.cancellationSignal.removeEventListener('abort', this.onCancel);
  }

  // A workflow cancel or a lost slice aborts the items in progress; a worker shutting down
  // (SIGTERM) lets them finish and commit, so the slice resumes elsewhere with nothing redone.
  private readonly onCancel = () => {
    if (this.ctx.cancellationDetails?.workerShutdown) this.draining = true;
    else this.stop('cancelled');
  };
}
