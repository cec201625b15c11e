/**
 * batchWorkflow: plans a window of N items, runs its slices C at a time, and continues-as-new
 * with only cursor and counters. It never sees item data (I1); its cursor only moves past
 * slices whose activities returned, i.e. whose outcomes are committed in the ledger (I4).
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchStatus, FinalizeResult, ProcessSliceResult } from '../contract/activity-io';
import { parseBatchSpec, resumeCostBound, SpecError, type BatchSpec } from '../contract/batch-spec';
import { WAYMARK_FAILED, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../contract/search-attributes';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal, type BatchConfigChange, type BatchProgress, type BatchState, type BatchSummary } from '../contract/messages';
import { currentDetails } from './details';
import { toleranceExceeded } from './tolerance';
import type { SliceBounds, SliceTally } from '../contract/slices';
import type { Checkpoint } from '../contract/checkpoint';
import { bookkeepingActivityOptions, sliceActivityOptions } from './activity-options';
import { historyBudgetSpent } from './history-budget';

export { EVENTS_PER_RUN_BUDGET } from './history-budget';

/** Search attribute upserts are history events: at most one per this much workflow time, plus state changes. */
const SEARCH_ATTRIBUTES_EVERY_MS = 30_000;

export async function batchWorkflow(specInput: unknown, checkpoint?: Checkpoint): Promise<BatchSummary> {
  let spec = validate(specInput);
  const info = workflowInfo();
  const batchId = info.workflowId;
  const startedAt = checkpoint?.startedAt ?? info.runStartTime.getTime();
  const runs = (checkpoint?.runs ?? 0) + 1;
  const rootScope = CancellationScope.current();

  let state: BatchState = 'planning';
  let paused = checkpoint?.paused ?? false;
  let total = checkpoint?.total;
  let cursor = checkpoint?.cursor ?? { index: 0, offset: 0 };
  let quotaUntil: number | undefined;
  // Counters of finished slices, plus the partial tallies of slices stopped by a quota wait.
  const done: SliceTally = {
    succeeded: checkpoint?.succeeded ?? 0,
    failed: checkpoint?.failed ?? 0,
    redone: checkpoint?.redone ?? 0,
    failedByType: { ...checkpoint?.failedByType },
  };
  const partial = new Map<number, SliceTally>();
  let inFlight = 0;

  const progress = (): BatchProgress => {
    const sum = { succeeded: done.succeeded, failed: done.failed, redone: done.redone };
    for (const t of partial.values()) {
      sum.succeeded += t.succeeded;
      sum.failed += t.failed;
      sum.redone += t.redone;
    }
    return {
      state: paused && state === 'running' ? 'paused' : state,
      total,
      ...sum,
      cursor: cursor.index,
      runs,
      slicesInFlight: inFlight,
      resumeCostBound: resumeCostBound(spec),
      quotaUntil: state === 'waiting-for-quota' ? quotaUntil : undefined,
      startedAt,
      concurrency: spec.concurrency,
      sliceSize: spec.sliceSize,
    };
  };

  // The Web UI: current details on every change (no history cost); search attributes, which
  // cost an event each, only on state changes and at a bounded rate, and only when the batch
  // was started with them (the server has them registered).
  const publishesSearchAttributes = info.typedSearchAttributes.get(WAYMARK_STATUS) !== undefined;
  let lastPublished: { at: number; status: string } | undefined;
  const publish = (force = false) => {
    const p = progress();
    setCurrentDetails(currentDetails(p, Date.now(), done.failedByType ?? {}));
    if (!publishesSearchAttributes) return;
    const now = Date.now();
    if (!force && lastPublished?.status === p.state && now - lastPublished.at < SEARCH_ATTRIBUTES_EVERY_MS) return;
    upsertSearchAttributes([
      { key: WAYMARK_STATUS, value: p.state },
      { key: WAYMARK_SUCCEEDED, value: p.succeeded },
      { key: WAYMARK_FAILED, value: p.failed },
    ]);
    lastPublished = { at: now, status: p.state };
  };
  const setState = (next: BatchState) => {
    state = next;
    publish(true);
  };

  // Live control. Each slice runs in a scope of its own, so pause and stop can cancel exactly
  // the slices in flight; a cancelled slice stops at an item boundary (its commits stay).
  const sliceScopes = new Set<CancellationScope>();
  let replanRequested = false;
  // Indexes (into this window's plan) of slices not yet launched, and the lanes running them.
  let queue: number[] = [];
  let lanes = 0;
  setHandler(progressQuery, progress);
  setHandler(pauseSignal, () => {
    if (paused) return;
    paused = true;
    for (const scope of sliceScopes) scope.cancel();
    publish(true);
  });
  setHandler(resumeSignal, () => {
    if (!paused) return;
    paused = false;
    publish(true);
  });
  setHandler(
    configureUpdate,
    (change: BatchConfigChange) => {
      const before = spec;
      spec = parseBatchSpec({ ...spec, ...change });
      // Slices of this window are already cut: a new slice size applies from the next window,
      // which starts as soon as the slices in flight have finished.
      if (spec.sliceSize !== before.sliceSize) replanRequested = true;
      if (spec.concurrency > before.concurrency) spawnLanes();
      publish(true);
      return { concurrency: spec.concurrency, sliceSize: spec.sliceSize };
    },
    {
      validator: (change: BatchConfigChange) => {
        const unknown = Object.keys(change ?? {}).filter((k) => k !== 'concurrency' && k !== 'sliceSize');
        if (unknown.length) throw new Error(`configure takes concurrency and sliceSize only, not ${unknown.join(', ')}`);
        parseBatchSpec({ ...spec, ...change });
      },
    },
  );

  const { planWindow, finalize } = proxyActivities<WaymarkActivities>(bookkeepingActivityOptions);

  const finish = async (status: BatchStatus, stopReason?: string): Promise<FinalizeResult> => {
    setState('finalizing');
    // A cancelled batch still writes its manifest: the finalize call must not be cancelled too.
    const result = await CancellationScope.nonCancellable(() =>
      finalize({ batchId, spec, runs, startedAt, finishedAt: Date.now(), status, stopReason, total }),
    );
    setState(status);
    return result;
  };

  publish(true);
  const { plan, total: counted } = await planWindow({
    batchId,
    spec,
    from: cursor,
    maxItems: spec.checkpointEvery,
    countTotal: total === undefined,
  });
  total ??= counted;
  setState('running');

  const slices = plan.slices;
  const finished = new Array<boolean>(slices.length).fill(false);
  if (slices.length === 0) cursor = plan.next;
  // The cursor stands at the first slice not yet finished: everything before it is committed (I4).
  let finishedPrefix = 0;
  const advanceCursor = () => {
    while (finishedPrefix < slices.length && finished[finishedPrefix]) finishedPrefix++;
    cursor =
      finishedPrefix === slices.length ? plan.next : { index: slices[finishedPrefix].start, offset: slices[finishedPrefix].startOffset };
  };

  let stopReason: string | undefined;
  let failure: unknown;
  let stopEarly = false;
  const stopAll = () => {
    for (const scope of sliceScopes) scope.cancel();
  };
  const checkTolerance = () => {
    if (stopReason !== undefined) return;
    stopReason = toleranceExceeded(spec, progress().failed, total);
    if (stopReason !== undefined) {
      setState('stopping');
      stopAll();
    }
  };
  const add = (t: SliceTally) => {
    done.succeeded += t.succeeded;
    done.failed += t.failed;
    done.redone += t.redone;
    for (const [type, n] of Object.entries(t.failedByType ?? {})) done.failedByType![type] = (done.failedByType![type] ?? 0) + n;
  };

  const runSlice = async (slice: SliceBounds): Promise<void> => {
    for (;;) {
      if (quotaUntil !== undefined && quotaUntil > Date.now()) {
        setState('waiting-for-quota');
        await sleep(quotaUntil - Date.now());
        setState('running');
      }
      const scope = new CancellationScope();
      sliceScopes.add(scope);
      let result: ProcessSliceResult;
      try {
        const { processSlice } = proxyActivities<WaymarkActivities>(sliceActivityOptions(spec, slice));
        result = await scope.run(() => processSlice({ batchId, spec, slice }));
      } finally {
        sliceScopes.delete(scope);
      }
      if (result.outcome === 'done') {
        partial.delete(slice.start);
        add(result.tally);
        checkTolerance();
        publish();
        return;
      }
      partial.set(slice.start, result.tally);
      checkTolerance();
      quotaUntil = Math.max(quotaUntil ?? 0, Date.now() + result.retryAfterMs);
    }
  };

  queue = slices.map((_, i) => i);
  const lane = async (): Promise<void> => {
    try {
      while (queue.length > 0 && stopReason === undefined && failure === undefined && !replanRequested) {
        if (lanes > spec.concurrency) return;
        if (paused) {
          await condition(() => !paused || stopReason !== undefined || replanRequested);
          continue;
        }
        if (historyBudgetSpent(inFlight)) {
          stopEarly = true;
          return;
        }
        const i = queue.shift()!;
        inFlight++;
        try {
          await runSlice(slices[i]);
          finished[i] = true;
          advanceCursor();
        } catch (err) {
          // Paused: the slice stopped at an item boundary and goes back to the head of the queue.
          if (isCancellation(err) && paused && !rootScope.consideredCancelled) {
            queue.unshift(i);
            queue.sort((a, b) => a - b);
            continue;
          }
          throw err;
        } finally {
          inFlight--;
        }
      }
    } catch (err) {
      if (!(isCancellation(err) && (stopReason !== undefined || failure !== undefined || rootScope.consideredCancelled))) {
        failure ??= err;
        stopAll();
      }
    } finally {
      lanes--;
    }
  };
  function spawnLanes(): void {
    // Counted up front: a lane may end before its first await (nothing left to do), and a loop
    // on `lanes` would then never end.
    const wanted = Math.min(spec.concurrency, queue.length) - lanes;
    for (let i = 0; i < wanted; i++) {
      lanes++;
      void lane();
    }
  }
  spawnLanes();
  await CancellationScope.nonCancellable(() => condition(() => lanes === 0));

  if (failure !== undefined) throw failure;
  if (rootScope.consideredCancelled) {
    await finish('cancelled');
    throw new CancelledFailure(`batch ${batchId} was cancelled; the items done so far are kept in the ledger`);
  }
  if (stopReason !== undefined) {
    const { manifest, manifestPath } = await finish('failed-tolerance', stopReason);
    await condition(allHandlersFinished);
    throw ApplicationFailure.nonRetryable(
      `batch stopped: ${stopReason}; ${manifest.succeeded} succeeded, ${manifest.failed} failed, ${manifest.pending} pending (manifest ${manifestPath})`,
      'FailedTolerance',
      { ...manifest, manifestPath },
    );
  }

  if (!(plan.exhausted && !stopEarly && !replanRequested && queue.length === 0)) {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof batchWorkflow>(spec, {
      cursor,
      succeeded: done.succeeded,
      failed: done.failed,
      redone: done.redone,
      failedByType: done.failedByType,
      runs,
      startedAt,
      total,
      paused,
    });
  }

  const { manifest, manifestPath } = await finish('completed');
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
