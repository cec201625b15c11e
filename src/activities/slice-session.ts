/**
 * One attempt's hold on its slice: the claim that fences older attempts out of the ledger, the
 * resume point, the open commit group, the in-flight marks, the heartbeat timer and the
 * cancellation that reaches the item in progress. What it does not decide is which item runs
 * next; processSlice does, item by item.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { InterruptedItem, Ledger, OutcomeToCommit } from '../ledger/ledger';
import type { ProcessSliceInput } from '../contract/activity-io';
import type { CommittedCounts, SliceHeartbeat, SliceTally } from '../contract/slices';
import type { SliceMetrics } from '../telemetry/batch-metrics';
import { succeededBefore } from '../redrive/redriven-batch';
import { uncommittedPerSlice } from '../contract/batch-spec';

/** The session's heartbeat period (at most a third of the heartbeat timeout). */
const HEARTBEAT_EVERY_MS = 1000;
/** A commit heartbeats at once unless the last heartbeat is younger than this. */
const HEARTBEAT_AFTER_COMMIT_MS = 200;
/**
 * How often an attempt asks the ledger whether idle lanes want its slice split: what a lane with
 * nothing to run waits at most (one indexed read each time).
 */
const SPLIT_POLL_MS = 500;

export class SliceSession {
  readonly batchId: string;
  readonly start: number;
  readonly end: number;
  /** First index of the slice not yet committed: what the heartbeat reports. */
  cursor: number;
  /** Whether this attempt has marked an item in flight yet. */
  marked = false;
  /** The item being processed right now, if a cancellation cuts it short. */
  inProgress: number | null = null;
  /** Aborted by a workflow cancel or a lost slice: the item in progress stops. */
  readonly signal: AbortSignal;
  private draining = false;
  private readonly itemAbort = new AbortController();
  private readonly pending: OutcomeToCommit[] = [];
  private readonly commitGroup: number;
  private beat: NodeJS.Timeout | undefined;
  private splitPoll: NodeJS.Timeout | undefined;
  /** The slice's committed outcomes, every attempt's: read at begin, then counted per commit (INVARIANTS.md I12). */
  private readonly committed: CommittedCounts = { succeeded: 0, failed: 0, redone: 0 };
  private lastBeat = 0;
  /** Into how many slices an idle lane asked this attempt to split its slice (request-split.ts), once asked. */
  splitPieces: number | undefined;
  /** An attempt honours one split request at most: after it, the ledger is not asked again. */
  private splitAnswered = false;
  private splitPolling = false;

  private constructor(
    private readonly ctx: Context,
    private readonly ledger: Ledger,
    private readonly metrics: SliceMetrics,
    input: ProcessSliceInput,
    readonly owner: string,
    /** The item the previous attempt left in flight and nobody has committed since, if any. */
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
    const unsettled = interrupted && !settled.has(interrupted.index) ? interrupted : null;
    return new SliceSession(ctx, ledger, metrics, input, owner, unsettled, settled);
  }

  get log(): Context['log'] {
    return this.ctx.log;
  }

  isSettled(index: number): boolean {
    return this.settled.has(index);
  }

  /** True once a cancellation or a worker shutdown asks the slice to stop at the next item boundary. */
  get stopping(): boolean {
    return this.draining || this.itemAbort.signal.aborted;
  }

  /**
   * Moves the cursor to where this attempt resumes, reads the slice's committed tally, then
   * heartbeats both and listens for cancellation.
   */
  async begin(): Promise<void> {
    const { ctx } = this;
    const { succeeded, failed, redone } = await this.tally();
    Object.assign(this.committed, { succeeded, failed, redone });
    // The ledger is the truth; the heartbeat cursor can only confirm it. Should it be ahead (a
    // ledger that lost its last commits), the items in between are redone rather than skipped.
    while (this.cursor < this.end && this.settled.has(this.cursor)) this.cursor++;
    const heartbeat = ctx.info.heartbeatDetails as SliceHeartbeat | undefined;
    if (heartbeat && heartbeat.cursor > this.cursor) {
      ctx.log.warn('heartbeat cursor is ahead of the ledger; resuming from the ledger', {
        batchId: this.batchId,
        heartbeat: heartbeat.cursor,
        ledger: this.cursor,
      });
    }
    // A cancel (pause, cancel) reaches the activity only in a heartbeat's response, and clients
    // read progress from heartbeat details: so heartbeat every second, and after each commit. A
    // heartbeat call is local; the worker sends at most one RPC per throttle interval
    // (maxHeartbeatThrottleInterval, 1 s in createWaymarkWorker), with the latest details.
    const beatEveryMs = Math.max(200, Math.min(HEARTBEAT_EVERY_MS, Math.floor((ctx.info.heartbeatTimeoutMs ?? 30_000) / 3)));
    this.heartbeat();
    this.beat = setInterval(() => this.heartbeat(), beatEveryMs);
    this.splitPoll = setInterval(() => this.pollSplit(), SPLIT_POLL_MS);
    ctx.cancellationSignal.addEventListener('abort', this.onCancel, { once: true });
  }

  /** Marks `index` in flight: the attempt that resumes after a crash will count it as redone. */
  async markInFlight(index: number): Promise<void> {
    await this.ledger.markInFlight(this.batchId, this.start, index, this.owner);
    this.marked = true;
  }

  /** Adds an outcome to the open commit group. */
  hold(outcome: OutcomeToCommit): void {
    this.pending.push(outcome);
  }

  get groupFull(): boolean {
    return this.pending.length >= this.commitGroup;
  }

  /** How many more items the open commit group takes: a call takes no more. */
  get groupRoom(): number {
    return this.commitGroup - this.pending.length;
  }

  /** Commits the open group with the slice's next in-flight item, in one ledger transaction. */
  async flush(nextInFlight: number | null): Promise<void> {
    const { pending } = this;
    if (pending.length === 0) return;
    await this.ledger.commit(this.batchId, this.start, pending, nextInFlight, this.owner);
    this.metrics.itemsCommitted(pending);
    this.cursor = pending[pending.length - 1].index + 1;
    this.count(pending);
    pending.length = 0;
    // Fast items commit thousands of times a second: a heartbeat encodes its details, so at
    // most a few per second here; the timer sends the rest.
    if (performance.now() - this.lastBeat >= HEARTBEAT_AFTER_COMMIT_MS) this.heartbeat();
  }

  /** Commits one outcome on its own, outside the open group (a dead-lettered item). */
  async commitAlone(outcome: OutcomeToCommit): Promise<void> {
    await this.ledger.commit(this.batchId, this.start, [outcome], null, this.owner);
    this.metrics.itemsCommitted([outcome]);
    this.settled.add(outcome.index);
    this.count([outcome]);
  }

  /** Every item is through: commits the rest. */
  async finish(): Promise<void> {
    await this.flush(null);
    this.metrics.sliceReturned('done');
  }

  /** A quota ran dry: commits what finished and leaves nothing in flight, so the wait costs no item. */
  async stopForQuota(): Promise<void> {
    await this.flush(null);
    await this.ledger.markInFlight(this.batchId, this.start, null, this.owner);
    this.metrics.quotaWait();
    this.metrics.sliceReturned('quota');
  }

  /**
   * Takes the split request: from here on the slice is not asked again, whether or not it splits
   * (a slice with one item left does not).
   */
  takeSplit(): number {
    const pieces = this.splitPieces!;
    this.splitPieces = undefined;
    this.splitAnswered = true;
    return pieces;
  }

  /** Split: commits what finished and leaves nothing in flight, so the new slices redo nothing. */
  async stopForSplit(): Promise<void> {
    await this.flush(null);
    await this.ledger.markInFlight(this.batchId, this.start, null, this.owner);
    this.metrics.sliceReturned('split');
  }

  /**
   * Stops at an item boundary: what finished is committed, the item cut short is not, and is
   * left marked so the attempt that resumes the slice counts it as redone.
   */
  async stopCancelled(): Promise<CancelledFailure> {
    await this.flush(null);
    if (this.inProgress === null) await this.ledger.markInFlight(this.batchId, this.start, null, this.owner);
    else await this.ledger.markCutShort(this.batchId, this.start, this.inProgress, this.owner);
    return new CancelledFailure(`slice ${this.start}-${this.end - 1} cancelled at item ${this.cursor}`);
  }

  /** The slice's committed outcomes, of every attempt, before `end` (by default, all of them). */
  tally(end = this.end): Promise<SliceTally> {
    return this.ledger.tally(this.batchId, this.start, end);
  }

  private count(outcomes: OutcomeToCommit[]): void {
    for (const o of outcomes) this.committed[o.status]++;
  }

  private heartbeat(): void {
    this.lastBeat = performance.now();
    this.ctx.heartbeat({ cursor: this.cursor, sliceStart: this.start, ...this.committed } satisfies SliceHeartbeat);
  }

  /** Reads whether idle lanes asked this attempt to split: the item loop then only looks at a field. */
  private pollSplit(): void {
    if (this.splitPolling || this.splitAnswered || this.splitPieces !== undefined) return;
    this.splitPolling = true;
    this.ledger.takeSplitRequest(this.batchId, this.start).then(
      (pieces) => {
        this.splitPolling = false;
        if (pieces !== null) this.splitPieces = pieces;
      },
      // The ledger did not answer: the next tick asks again, and the slice runs on meanwhile.
      () => {
        this.splitPolling = false;
      },
    );
  }

  /** Stops the heartbeat timer and the cancellation listener. */
  close(): void {
    clearInterval(this.beat);
    clearInterval(this.splitPoll);
    this.ctx.cancellationSignal.removeEventListener('abort', this.onCancel);
  }

  // A workflow cancel or a lost slice aborts the item in progress; a worker shutting down
  // (SIGTERM) lets the item finish and commit, so the slice resumes elsewhere with nothing redone.
  private readonly onCancel = () => {
    if (this.ctx.cancellationDetails?.workerShutdown) this.draining = true;
    else this.itemAbort.abort();
  };
}
