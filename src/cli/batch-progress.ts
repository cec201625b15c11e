/**
 * A batch's progress as a client shows it (status, `--wait`, `status --watch`), at a cost in
 * Temporal Cloud actions that does not grow with the time spent watching (INVARIANTS.md I12, I15):
 *
 * - `describe()` each time, which is no action: the workflow's history length, and the running
 *   slices' heartbeat details;
 * - the workflow's progress query (an action) only when its state may have changed: with the
 *   ledger at hand, when the WaymarkStatus search attribute (in the same description) changed;
 *   else, or for a batch without search attributes, when its history grew (the state and the
 *   finished slices' counts only change with an event); and every five minutes besides, for what
 *   changes without a new state (a longer quota wait, the cursor);
 * - the committed counts from the ledger itself where this machine can read it (the SQLite file in
 *   the data dir, or WAYMARK_LEDGER_URL): within a second of a commit. Elsewhere the running
 *   slices' heartbeats carry them, within one heartbeat (0.8 x heartbeatTimeout).
 *
 * Every source counts committed outcomes only, so each is a lower bound of the truth and the
 * larger count wins. The reader also keeps when it last saw a sign of a worker (an answered
 * query, new commits, a new heartbeat): the presence check's clock (worker-presence.ts). Only
 * when no sign has come for a while does it query to ask, which a live worker answers.
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type LoadedDataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { LEDGER_UNREACHABLE, unreachableReason } from '../activities/ledger-unreachable';
import { progressQuery, type BatchProgress } from '../contract/messages';
import { WAYMARK_STATUS } from '../contract/search-attributes';
import type { CommittedCounts, SliceHeartbeat } from '../contract/slices';
import type { Ledger } from '../ledger/ledger';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { addCounts, maxCounts } from '../workflows/tallies';
import { WORKER_ANSWER_MS } from './worker-presence';

const SLICE_ACTIVITY = 'processSlice';
/** Without a sign of a worker this long, a read queries: only a live worker answers. */
const PROBE_AFTER_MS = WORKER_ANSWER_MS / 2;

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
/** A slice activity scheduled this long ago and not started waits for a worker's slot (or a worker). */
const SLOT_WAIT_MS = 3000;
/** A state that did not change is queried again this often: the query's other fields (a longer wait, the cursor) move too. */
const REQUERY_MS = 300_000;
/** Every index of a batch: a ledger range to its end. */
const ALL = Number.MAX_SAFE_INTEGER;
const NONE: CommittedCounts = { succeeded: 0, failed: 0, redone: 0 };

export class ProgressReader {
  private queried: { progress: BatchProgress; runId: string; changeMark: string; at: number } | undefined;
  /** The ledger's counts before a cursor: committed, so they never change once read. */
  private before: { cursor: number; counts: CommittedCounts } | undefined;
  private ledgerChecked = false;

  /** `ledger`: this machine's ledger, if it has one; used once it holds the batch. */
  constructor(
    private readonly handle: WorkflowHandle<typeof batchWorkflow>,
    private ledger?: Ledger,
  ) {}

  /** Queries made so far: each one is a Temporal Cloud action. */
  queries = 0;
  /** Epoch ms of the last sign of a live worker. */
  lastSignOfWorker = Date.now();
  private lastCommitted = -1;
  private lastHeartbeatAt = 0;

  async read(): Promise<BatchProgress> {
    let description = await this.handle.describe();
    const { runId } = description;
    const changeMark = stateMark(description, this.ledger !== undefined);
    let queried = this.queried;
    const now = Date.now();
    const stale = queried !== undefined && (now - queried.at >= REQUERY_MS || now - this.lastSignOfWorker >= PROBE_AFTER_MS);
    if (queried === undefined || queried.runId !== runId || queried.changeMark !== changeMark || stale) {
      this.queries++;
      queried = { progress: await this.handle.query(progressQuery), runId, changeMark, at: now };
      this.queried = queried;
      this.lastSignOfWorker = Date.now();
      // Described again after the query: a slice the query did not see finish is then either still
      // pending (counted once, by its heartbeat) or finished in between (counted by neither until
      // the next read), never counted twice.
      description = await this.handle.describe();
    }
    let progress = queried.progress;
    const pending = description.raw.pendingActivities ?? [];
    const converter = this.handle.client.options.loadedDataConverter;
    const waiting = slicesWaitingForSlots(pending, now);
    if (waiting > 0) progress = { ...progress, slicesWaitingForSlots: waiting };
    const unreachable = await ledgerUnreachableNow(pending, converter);
    if (unreachable !== undefined) progress = { ...progress, ledgerUnreachable: unreachable };
    this.noteHeartbeats(pending);
    try {
      progress = withHeartbeats(progress, await runningSliceHeartbeats(pending, converter));
    } catch {
      // Heartbeat details that cannot be decoded (another data converter) only add nothing.
    }
    const fromLedger = await this.ledgerCounts(progress.cursor);
    if (fromLedger === undefined) return progress;
    const committed = fromLedger.succeeded + fromLedger.failed;
    if (this.lastCommitted >= 0 && committed > this.lastCommitted) this.lastSignOfWorker = Date.now();
    this.lastCommitted = committed;
    return { ...progress, ...maxCounts(fromLedger, progress) };
  }

  /** A heartbeat newer than the last one seen is a sign of a worker. */
  private noteHeartbeats(pending: PendingActivity[]): void {
    for (const activity of pending) {
      const at = Number(activity.lastHeartbeatTime?.seconds ?? 0) * 1000;
      if (at > this.lastHeartbeatAt) {
        if (this.lastHeartbeatAt > 0) this.lastSignOfWorker = Math.max(this.lastSignOfWorker, at);
        this.lastHeartbeatAt = at;
      }
    }
  }

  /** The batch's committed counts in this machine's ledger; undefined when it has no such ledger or it does not answer. */
  private async ledgerCounts(cursor: number): Promise<CommittedCounts | undefined> {
    const ledger = this.ledger;
    if (ledger === undefined) return undefined;
    const batchId = this.handle.workflowId;
    try {
      if (!this.ledgerChecked) {
        // A ledger of another data dir (or another cluster) does not hold this batch: not ours to read.
        if ((await ledger.batch(batchId)) === undefined) {
          this.ledger = undefined;
          return undefined;
        }
        this.ledgerChecked = true;
      }
      // Only the items the cursor passed since the last read are counted anew: a batch of a million
      // items would otherwise be counted whole on every read, twice a second under `--wait`.
      let before = this.before !== undefined && this.before.cursor <= cursor ? this.before : { cursor: 0, counts: NONE };
      if (before.cursor !== cursor)
        before = { cursor, counts: addCounts(before.counts, await ledger.tally(batchId, before.cursor, cursor)) };
      this.before = before;
      return addCounts(before.counts, await ledger.tally(batchId, cursor, ALL));
    } catch {
      return undefined;
    }
  }
}

/** How long an attempt that started after a ledger failure counts as still failing: the ledger's connect timeout, and some. */
const RETRY_ATTEMPT_GRACE_MS = 15_000;

/**
 * Why the batch's ledger cannot be reached now, from its activities' last failures: an activity
 * whose last attempt failed so is unreachable while it waits for its next attempt, and during that
 * attempt's first seconds (a connect may take 10 s to fail); undefined when none is.
 */
async function ledgerUnreachableNow(pending: PendingActivity[], converter: LoadedDataConverter): Promise<string | undefined> {
  for (const activity of pending) {
    if (!activity.lastFailure) continue;
    const waiting = activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
    const startedAt = Number(activity.lastStartedTime?.seconds ?? 0) * 1000;
    if (!waiting && Date.now() - startedAt > RETRY_ATTEMPT_GRACE_MS) continue;
    const failure = await decodeOptionalFailureToOptionalError(converter, activity.lastFailure);
    if (failure instanceof ApplicationFailure && failure.type === LEDGER_UNREACHABLE) return unreachableReason(failure.message);
  }
  return undefined;
}

/**
 * What changes whenever the progress may have: with the ledger for the counts, the WaymarkStatus
 * search attribute, upserted on every change of state; else the history's length.
 */
function stateMark(description: WorkflowExecutionDescription, countsFromLedger: boolean): string {
  const status = countsFromLedger ? description.typedSearchAttributes.get(WAYMARK_STATUS) : undefined;
  return status !== undefined ? `status:${status}` : `events:${description.historyLength}`;
}

/**
 * Adds the running slices' heartbeat tallies to the workflow's counts. A heartbeat's tally is the
 * whole slice's, every attempt's, so it replaces the partial tally the workflow holds for a slice
 * that stopped for quota earlier. Every count is a lower bound of the ledger's, so the larger wins.
 */
export function withHeartbeats(progress: BatchProgress, heartbeats: SliceHeartbeat[]): BatchProgress {
  if (progress.finishedSlices === undefined) return progress;
  const bySlice = new Map<string, CommittedCounts>(Object.entries(progress.partialSlices ?? {}));
  for (const hb of heartbeats) {
    if (hb.sliceStart === undefined || hb.succeeded === undefined || hb.failed === undefined) continue;
    const key = String(hb.sliceStart);
    bySlice.set(key, maxCounts({ succeeded: hb.succeeded, failed: hb.failed, redone: hb.redone ?? 0 }, bySlice.get(key)));
  }
  const sum = { ...progress.finishedSlices };
  for (const t of bySlice.values()) {
    sum.succeeded += t.succeeded;
    sum.failed += t.failed;
    sum.redone += t.redone;
  }
  return { ...progress, ...maxCounts(sum, progress) };
}

/** Slice activities scheduled at least SLOT_WAIT_MS ago that no worker has started, on their first attempt. */
function slicesWaitingForSlots(pending: PendingActivity[], now: number): number {
  let waiting = 0;
  for (const activity of pending) {
    if (activity.activityType?.name !== SLICE_ACTIVITY || activity.lastStartedTime || (activity.attempt ?? 1) > 1) continue;
    const scheduled = Number(activity.scheduledTime?.seconds ?? 0) * 1000;
    if (scheduled > 0 && now - scheduled >= SLOT_WAIT_MS) waiting++;
  }
  return waiting;
}

/** The latest heartbeat details of the batch's running slices, decoded (and decrypted) by the client's data converter. */
async function runningSliceHeartbeats(pending: PendingActivity[], converter: LoadedDataConverter): Promise<SliceHeartbeat[]> {
  const out: SliceHeartbeat[] = [];
  for (const activity of pending) {
    if (activity.activityType?.name !== SLICE_ACTIVITY || !activity.heartbeatDetails?.payloads?.length) continue;
    const hb = await decodeFromPayloadsAtIndex<SliceHeartbeat>(converter, 0, activity.heartbeatDetails.payloads);
    if (hb && typeof hb === 'object') out.push(hb);
  }
  return out;
}
