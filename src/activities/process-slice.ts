/**
 * processSlice: the only place item data is touched. Resumes where the ledger and the last
 * heartbeat say, and for each item: process, commit the outcome, move the heartbeat cursor.
 * The slice's session (claim, commit groups, heartbeats, cancellation) is in slice-session.ts;
 * items that were in flight when a worker died are in suspect-items.ts.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Ledger } from '../ledger/ledger';
import { LeaseLostError } from '../ledger/ledger';
import type { ProcessSliceInput, ProcessSliceResult } from '../contract/activity-io';
import { openSource } from '../sources/open-source';
import type { SourceItem } from '../sources/source';
import { getProcessor } from '../processors/registry';
import { sourceBatchId } from '../redrive/redriven-batch';
import { ItemRunner, SliceCancelledError } from './run-item';
import { toApplicationFailure } from './failures';
import { SliceMetrics } from '../telemetry/batch-metrics';
import { SliceSession } from './slice-session';
import { chargeInterruption, SuspectItems } from './suspect-items';

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
  await chargeInterruption(ledger, session, spec);
  await session.begin();
  const runner = new ItemRunner({ batchId, spec, processor, log: ctx.log, sliceSignal: session.signal });
  // Loaded inside the try: should the ledger fail here, the session's timers still stop.
  let suspects: SuspectItems | undefined;
  try {
    suspects = await SuspectItems.load(ledger, session, spec);
    return await runItems(session, suspects, runner, source.readSlice(slice));
  } catch (err) {
    if (err instanceof SliceCancelledError) throw await session.stopCancelled();
    if (err instanceof ApplicationFailure || err instanceof LeaseLostError) throw err;
    throw toApplicationFailure(err);
  } finally {
    runner.close();
    session.close();
    await suspects?.close();
  }
}

/** Each item not yet settled, in order: run it, then commit it with its group. */
async function runItems(session: SliceSession, suspects: SuspectItems, runner: ItemRunner, items: AsyncIterable<SourceItem>): Promise<ProcessSliceResult> {
  let lastYield = performance.now();
  for await (const item of items) {
    const index = item.index;
    if (index < session.cursor || session.isSettled(index)) continue;
    // A processor that never waits on real I/O would run the whole slice in one go of the
    // microtask queue, starving the heartbeat timer until the server gives the slice away.
    if (performance.now() - lastYield >= 10) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (session.stopping) throw new SliceCancelledError();
    const suspect = suspects.has(index);
    if (suspect) {
      // Alone in its commit group, and marked in flight only once it really runs.
      await session.flush(null);
      await suspects.takeLease();
    }
    if (!session.marked || suspect) await session.markInFlight(index);
    session.inProgress = index;
    const run = await runner.run(item);
    session.inProgress = null;
    if (run.kind === 'quota') {
      await session.stopForQuota();
      return { outcome: 'quota', retryAfterMs: run.retryAfterMs, nextIndex: index, tally: await session.tally() };
    }
    session.hold(run.outcome);
    const next = index + 1 < session.end ? index + 1 : null;
    if (suspect || session.groupFull || next === null) await session.flush(suspects.nextInFlight(next));
    if (suspect) await suspects.releaseLease();
  }
  await session.finish();
  return { outcome: 'done', tally: await session.tally() };
}
