/**
 * A batch's progress as a client shows it (status, `--wait`, `status --watch`): the workflow's
 * progress query, plus what its running slices have committed since, read from their heartbeat
 * details in `describe()` (INVARIANTS.md I12). Heartbeats cost no history events, and a slice heartbeats its
 * committed tally within about a second of each commit, so a commit shows here within ~2 s, long
 * before the slice finishes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { progressQuery, type BatchProgress } from '../contract/messages';
import type { CommittedCounts, SliceHeartbeat } from '../contract/slices';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { maxCounts } from '../workflows/tallies';

const SLICE_ACTIVITY = 'processSlice';

export async function batchProgress(handle: WorkflowHandle<typeof batchWorkflow>): Promise<BatchProgress> {
  // The query first, describe second: a slice the query did not see finish is then either still
  // pending in describe (counted once, by its heartbeat) or finished in between (counted by
  // neither until the next poll), never counted twice.
  const progress = await handle.query(progressQuery);
  // A workflow of an older waymark does not say which counts its slices' heartbeats extend.
  if (progress.finishedSlices === undefined || progress.slicesInFlight === 0) return progress;
  let heartbeats: SliceHeartbeat[];
  try {
    heartbeats = await runningSliceHeartbeats(handle);
  } catch {
    return progress;
  }
  return withHeartbeats(progress, heartbeats);
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
async function runningSliceHeartbeats(handle: WorkflowHandle<typeof batchWorkflow>): Promise<SliceHeartbeat[]> {
  const description = await handle.describe();
  const converter = handle.client.options.loadedDataConverter;
  const out: SliceHeartbeat[] = [];
  for (const activity of description.raw.pendingActivities ?? []) {
    if (activity.activityType?.name !== SLICE_ACTIVITY || !activity.heartbeatDetails?.payloads?.length) continue;
    const hb = await decodeFromPayloadsAtIndex<SliceHeartbeat>(converter, 0, activity.heartbeatDetails.payloads);
    if (hb && typeof hb === 'object') out.push(hb);
  }
  return out;
}
