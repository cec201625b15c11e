/**
 * A batch's progress as a client shows it (status, `--wait`, `status --watch`): the workflow's
 * progress query, plus what its running slices have committed since, read from their heartbeat
 * details in `describe()` (INVARIANTS.md I12). Heartbeats cost no history events, and a slice heartbeats its
 * committed tally within about a second of each commit, so a commit shows here within ~2 s, long
 * before the slice finishes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type LoadedDataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { LEDGER_UNREACHABLE, unreachableReason } from '../activities/ledger-unreachable';
import { progressQuery, type BatchProgress } from '../contract/messages';
import type { CommittedCounts, SliceHeartbeat } from '../contract/slices';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { maxCounts } from '../workflows/tallies';

const SLICE_ACTIVITY = 'processSlice';

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

export async function batchProgress(handle: WorkflowHandle<typeof batchWorkflow>): Promise<BatchProgress> {
  // The query first, describe second: a slice the query did not see finish is then either still
  // pending in describe (counted once, by its heartbeat) or finished in between (counted by
  // neither until the next poll), never counted twice.
  const queried = await handle.query(progressQuery);
  let pending: PendingActivity[];
  try {
    pending = (await handle.describe()).raw.pendingActivities ?? [];
  } catch {
    return queried;
  }
  const converter = handle.client.options.loadedDataConverter;
  const unreachable = await ledgerUnreachableNow(pending, converter);
  const progress = unreachable === undefined ? queried : { ...queried, ledgerUnreachable: unreachable };
  // A workflow of an older waymark does not say which counts its slices' heartbeats extend.
  if (progress.finishedSlices === undefined || progress.slicesInFlight === 0) return progress;
  let heartbeats: SliceHeartbeat[];
  try {
    heartbeats = await runningSliceHeartbeats(pending, converter);
  } catch {
    return progress;
  }
  return withHeartbeats(progress, heartbeats);
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
