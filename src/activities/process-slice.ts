/**
 * processSlice: the only place item data is touched. Resumes where the ledger says, and runs the
 * slice's items on its lanes (slice-lanes.ts): for each item, process, commit the outcome, move
 * the cursor. The slice's session (claim, in-flight marks, commits, heartbeats, control) is in
 * slice-session.ts; items that were in flight when a worker died are in suspect-items.ts.
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Ledger } from '../ledger/ledger';
import { LeaseLostError } from '../ledger/ledger';
import type { ProcessSliceInput, ProcessSliceResult } from '../contract/activity-io';
import { openSource } from '../sources/open-source';
import { getProcessor } from '../processors/registry';
import { sourceBatchId } from '../redrive/redriven-batch';
import { ItemRunner } from './run-item';
import { toApplicationFailure } from './failures';
import { SliceMetrics } from '../telemetry/batch-metrics';
import { SliceSession } from './slice-session';
import { chargeInterruption, SuspectItems } from './suspect-items';
import { BudgetGuard } from './budget-guard';
import { Pacer } from './pacer';
import { SliceLanes } from './slice-lanes';
import { AdaptiveLanes } from './adaptive-lanes';
import { autoRange, laneScope } from '../contract/adaptive-concurrency';
import { processProviderSlice } from './provider-slice';

export interface SliceDeps {
  ledger: Ledger;
  dataDir: string;
}

export async function processSlice(deps: SliceDeps, input: ProcessSliceInput): Promise<ProcessSliceResult> {
  const { ledger, dataDir } = deps;
  const { batchId, spec, slice } = input;
  const ctx = Context.current();
  const metrics = new SliceMetrics(ctx.metricMeter, spec.processor.name);

  let processor;
  let source;
  try {
    processor = getProcessor(spec.processor.name);
    source = openSource(spec.source, { dataDir, batchId: sourceBatchId(batchId, spec) });
  } catch (err) {
    throw toApplicationFailure(err);
  }

  const session = await SliceSession.claim(ctx, ledger, metrics, input);
  // A provider batch processor sends the slice's items as jobs and collects them (provider-slice.ts).
  if (processor.providerBatch !== undefined) {
    const items = source;
    return processProviderSlice({
      ledger,
      session,
      input,
      log: ctx.log,
      providerBatch: processor.providerBatch,
      readItems: () => items.readSlice(slice),
    });
  }
  await chargeInterruption(ledger, session, spec);
  await session.begin();
  // Each lane's runner listens on the slice's signals: hundreds of lanes are not a leak.
  setMaxListeners(0, session.signal, ctx.cancellationSignal);
  // A named rate limit (INVARIANTS.md I13): each lane takes a token before its item starts.
  const pacer =
    spec.rateLimit && new Pacer(ledger, spec.rateLimit, batchId, (w) => metrics.rateLimitWait(w.key, w.held ? 'held' : 'paced'));
  const range = autoRange(spec.concurrency);
  // Adaptive lanes (`concurrency: auto`): the slice runs what its pool grants (adaptive-lanes.ts).
  const adaptive =
    range &&
    new AdaptiveLanes({
      ledger,
      metrics,
      scope: laneScope(batchId, spec.rateLimit?.key),
      batchId,
      sliceStart: slice.start,
      range,
      waitInSliceMs: spec.heartbeatTimeoutMs,
    });
  // Loaded inside the try: should the ledger fail here, the session's timers still stop.
  let suspects: SuspectItems | undefined;
  try {
    suspects = await SuspectItems.load(ledger, session, spec);
    const lanes = new SliceLanes({
      session,
      suspects,
      newRunner: () =>
        new ItemRunner({
          batchId,
          spec,
          processor,
          log: ctx.log,
          sliceSignal: session.signal,
          pacer,
          activitySignal: ctx.cancellationSignal,
        }),
      budget: BudgetGuard.forSpec(ledger, batchId, spec),
      // A processor that takes one item at a time runs so whatever itemsPerCall says.
      itemsPerCall: processor.processBatch ? (spec.itemsPerCall ?? 1) : 1,
      pacedByKey: pacer !== undefined,
      adaptive,
    });
    const result = await lanes.run(source.readSlice(slice));
    const lanesSeen = adaptive?.view();
    return lanesSeen === undefined ? result : { ...result, adaptive: lanesSeen };
  } catch (err) {
    if (err instanceof ApplicationFailure || err instanceof LeaseLostError || err instanceof CancelledFailure) throw err;
    throw toApplicationFailure(err);
  } finally {
    session.close();
    await adaptive?.end();
    await suspects?.close();
  }
}
