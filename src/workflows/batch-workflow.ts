/**
 * batchWorkflow: plans a window of N items, runs its slices C at a time, and continues-as-new
 * with only cursor and counters. It never sees item data (I1); its cursor only moves past
 * slices whose activities returned, i.e. whose outcomes are committed in the ledger (I4).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  isCancellation,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { ProcessSliceResult } from '../activities/contracts';
import type { SliceTally } from '../ledger/ledger';
import type { SliceBounds } from '../sources/source';
import { parseBatchSpec, resumeCostBound, SpecError, type BatchSpec } from '../spec/batch-spec';
import { progressQuery, type BatchProgress, type BatchState, type BatchSummary, type Checkpoint } from './definitions';

/**
 * Events one run may grow to before it continues-as-new, whatever N says: well under the
 * 4,096 at which Temporal starts to suggest it (I2). A slice costs about 6 events
 * (activity scheduled/started/completed and a workflow task).
 */
export const EVENTS_PER_RUN_BUDGET = 2000;
const EVENTS_PER_SLICE = 6;

export async function batchWorkflow(specInput: unknown, checkpoint?: Checkpoint): Promise<BatchSummary> {
  const spec = validate(specInput);
  const info = workflowInfo();
  const batchId = info.workflowId;
  const startedAt = checkpoint?.startedAt ?? info.runStartTime.getTime();
  const runs = (checkpoint?.runs ?? 0) + 1;
  const bound = resumeCostBound(spec);

  let state: BatchState = 'planning';
  let total = checkpoint?.total;
  let cursor = checkpoint?.cursor ?? { index: 0, offset: 0 };
  let quotaUntil: number | undefined;
  // Counters of finished slices, plus the partial tallies of slices stopped by a quota wait.
  const done: SliceTally = {
    succeeded: checkpoint?.succeeded ?? 0,
    failed: checkpoint?.failed ?? 0,
    redone: checkpoint?.redone ?? 0,
  };
  const partial = new Map<number, SliceTally>();
  let inFlight = 0;

  setHandler(progressQuery, (): BatchProgress => {
    const sum = { ...done };
    for (const t of partial.values()) {
      sum.succeeded += t.succeeded;
      sum.failed += t.failed;
      sum.redone += t.redone;
    }
    return { state, total, ...sum, cursor: cursor.index, runs, slicesInFlight: inFlight, resumeCostBound: bound, quotaUntil, startedAt };
  });

  const { planWindow, finalize } = proxyActivities<WaymarkActivities>({
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });
  const { processSlice } = proxyActivities<WaymarkActivities>({
    heartbeatTimeout: spec.heartbeatTimeoutMs,
    // The heartbeat timeout is what notices a dead worker; this only bounds a slice that is
    // alive but stuck, generously: every item may use all its attempts and backoffs.
    startToCloseTimeout:
      spec.sliceSize * spec.itemAttempts * (spec.itemTimeoutMs + spec.itemBackoffMaxMs) + 10 * 60_000,
    // A stopped batch waits until its slices have really stopped at an item boundary, so the
    // manifest it then writes has the final counts.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });

  const { plan, total: counted } = await planWindow({
    batchId,
    spec,
    from: cursor,
    maxItems: spec.checkpointEvery,
    countTotal: total === undefined,
  });
  total ??= counted;
  state = 'running';

  const slices = plan.slices;
  const finished = new Array<boolean>(slices.length).fill(false);
  if (slices.length === 0) cursor = plan.next;
  let nextToLaunch = 0;
  let stopEarly = false;

  const overBudget = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength + (inFlight + 1) * EVENTS_PER_SLICE >= EVENTS_PER_RUN_BUDGET;

  const runSlice = async (slice: SliceBounds): Promise<void> => {
    for (;;) {
      if (quotaUntil !== undefined && quotaUntil > Date.now()) {
        state = 'waiting-for-quota';
        await sleep(quotaUntil - Date.now());
        state = 'running';
      }
      const result: ProcessSliceResult = await processSlice({ batchId, spec, slice });
      if (result.outcome === 'done') {
        partial.delete(slice.start);
        done.succeeded += result.tally.succeeded;
        done.failed += result.tally.failed;
        done.redone += result.tally.redone;
        checkTolerance();
        return;
      }
      partial.set(slice.start, result.tally);
      checkTolerance();
      quotaUntil = Math.max(quotaUntil ?? 0, Date.now() + result.retryAfterMs);
    }
  };

  // Failure tolerance (I6): over the limit, the batch stops launching slices, cancels those in
  // flight (they stop at an item boundary) and ends with status failed-tolerance.
  let stopReason: string | undefined;
  const slicesScope = new CancellationScope();
  const checkTolerance = () => {
    if (stopReason !== undefined) return;
    let failed = done.failed;
    for (const t of partial.values()) failed += t.failed;
    if (spec.toleratedFailureCount !== undefined && failed > spec.toleratedFailureCount) {
      stopReason = `${failed} failed items exceed toleratedFailureCount (${spec.toleratedFailureCount})`;
    } else if (spec.toleratedFailurePercent !== undefined && total && (failed / total) * 100 > spec.toleratedFailurePercent) {
      const percent = Math.round((failed / total) * 1000) / 10;
      stopReason = `${failed} failed items (${percent}% of ${total}) exceed toleratedFailurePercent (${spec.toleratedFailurePercent}%)`;
    }
    if (stopReason !== undefined) {
      state = 'stopping';
      slicesScope.cancel();
    }
  };

  // The cursor stands at the first slice not yet finished: everything before it is committed (I4).
  let finishedPrefix = 0;
  const advanceCursor = () => {
    while (finishedPrefix < slices.length && finished[finishedPrefix]) finishedPrefix++;
    cursor =
      finishedPrefix === slices.length
        ? plan.next
        : { index: slices[finishedPrefix].start, offset: slices[finishedPrefix].startOffset };
  };

  const lane = async (): Promise<void> => {
    while (nextToLaunch < slices.length && stopReason === undefined) {
      if (overBudget()) {
        stopEarly = true;
        return;
      }
      const i = nextToLaunch++;
      inFlight++;
      try {
        await runSlice(slices[i]);
      } finally {
        inFlight--;
      }
      finished[i] = true;
      advanceCursor();
    }
  };

  const lanes = await slicesScope.run(() =>
    Promise.allSettled(Array.from({ length: Math.min(spec.concurrency, slices.length) }, lane)),
  );
  for (const l of lanes) {
    if (l.status === 'rejected' && !(stopReason !== undefined && isCancellation(l.reason))) throw l.reason;
  }

  if (stopReason !== undefined) {
    const { manifest, manifestPath } = await finalize({
      batchId, spec, runs, startedAt, finishedAt: Date.now(), status: 'failed-tolerance', stopReason, total,
    });
    state = 'failed-tolerance';
    await condition(allHandlersFinished);
    throw ApplicationFailure.nonRetryable(
      `batch stopped: ${stopReason}; ${manifest.succeeded} succeeded, ${manifest.failed} failed, ${manifest.pending} pending (manifest ${manifestPath})`,
      'FailedTolerance',
      { ...manifest, manifestPath },
    );
  }

  const exhausted = plan.exhausted && !stopEarly;
  if (!exhausted) {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof batchWorkflow>(spec, {
      cursor,
      succeeded: done.succeeded,
      failed: done.failed,
      redone: done.redone,
      runs,
      startedAt,
      total,
    });
  }

  state = 'finalizing';
  const { manifest, manifestPath } = await finalize({ batchId, spec, runs, startedAt, finishedAt: Date.now(), status: 'completed', total });
  state = 'completed';
  await condition(allHandlersFinished);
  return { ...manifest, manifestPath };
}

/** Defends the workflow against a spec that did not come through waymark's CLI (e.g. `temporal workflow start`). */
function validate(specInput: unknown): BatchSpec {
  try {
    return parseBatchSpec(specInput);
  } catch (err) {
    if (err instanceof SpecError) {
      throw ApplicationFailure.nonRetryable(err.message, 'SpecError', { field: err.field });
    }
    throw err;
  }
}
