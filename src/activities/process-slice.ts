/**
 * processSlice: the only place item data is touched. Resumes where the ledger and the last
 * heartbeat say, and for each item: process, commit the outcome, move the heartbeat cursor.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Ledger, OutcomeToCommit } from '../ledger/ledger';
import { LeaseLostError } from '../ledger/ledger';
import type { ProcessSliceInput, ProcessSliceResult } from '../contract/activity-io';
import { openSource } from '../sources/open-source';
import { getProcessor } from '../processors/registry';
import { ItemRunner, SliceCancelledError } from './run-item';
import { toApplicationFailure } from './failures';
import { SliceMetrics } from '../telemetry/batch-metrics';
import type { SliceHeartbeat } from '../contract/slices';

export interface SliceDeps {
  ledger: Ledger;
  dataDir: string;
}

export async function processSlice(deps: SliceDeps, input: ProcessSliceInput): Promise<ProcessSliceResult> {
  const { ledger, dataDir } = deps;
  const { batchId, spec, slice } = input;
  const ctx = Context.current();
  const end = slice.start + slice.count;
  const metrics = new SliceMetrics(ctx.metricMeter, spec.processor.name);

  let processor;
  let source;
  try {
    processor = getProcessor(spec.processor.name);
    source = openSource(spec.source, { dataDir, batchId: spec.redriveOf ?? batchId });
  } catch (err) {
    throw toApplicationFailure(err);
  }

  // One owner per attempt: a newer attempt fences this one out of the ledger (see claimSlice).
  const owner = `${ctx.info.activityId}/${ctx.info.attempt}/${randomUUID()}`;
  const interrupted = await ledger.claimSlice(batchId, slice.start, owner);
  const committed = new Set(await ledger.committedIndexes(batchId, slice.start, end));
  // A redrive leaves alone what already succeeded in the batch it redrives.
  const succeededBefore = spec.redriveOf
    ? new Set(await ledger.committedIndexes(spec.redriveOf, slice.start, end, 'succeeded'))
    : undefined;
  if (interrupted && !committed.has(interrupted.index) && !succeededBefore?.has(interrupted.index)) {
    // The previous attempt stopped with this item in flight: it is redone now. A crash also
    // counts against the item: one that keeps taking its worker down with it is dead-lettered
    // and the slice goes on.
    const { index, cause } = interrupted;
    const crashes = await ledger.recordInterruption(batchId, index, cause);
    if (cause === 'crash') {
      // The mark moves once per commit group: a dead attempt may have run every item of its open
      // group, not only the first. They are all redone now; count them so, erring on the safe side.
      for (let i = index + 1; i < Math.min(index + spec.commitGroup, end); i++) {
        if (!committed.has(i) && !succeededBefore?.has(i)) await ledger.recordInterruption(batchId, i, 'cut-short');
      }
    }
    if (cause === 'crash' && crashes >= spec.itemCrashLimit) {
      const deadLetter = crashedWorkerOutcome(index, crashes);
      await ledger.commit(batchId, slice.start, [deadLetter], null, owner);
      metrics.itemsCommitted([deadLetter]);
      committed.add(index);
      ctx.log.warn('item dead-lettered after crashing its worker', { batchId, index, crashes });
    }
  }

  // The ledger is the truth; the heartbeat cursor can only confirm it. Should it be ahead (a
  // ledger that lost its last commits), the items in between are redone rather than skipped.
  let cursor = slice.start;
  while (cursor < end && (committed.has(cursor) || succeededBefore?.has(cursor))) cursor++;
  const heartbeat = ctx.info.heartbeatDetails as SliceHeartbeat | undefined;
  if (heartbeat && heartbeat.cursor > cursor) {
    ctx.log.warn('heartbeat cursor is ahead of the ledger; resuming from the ledger', { batchId, heartbeat: heartbeat.cursor, ledger: cursor });
  }

  // Heartbeats go out on a timer, not per item: the cursor is sent at most every few seconds,
  // which keeps a slow item's activity alive and keeps the per-item path free of RPCs.
  const beatEveryMs = Math.max(200, Math.min(5000, Math.floor((ctx.info.heartbeatTimeoutMs ?? 30_000) / 3)));
  ctx.heartbeat({ cursor } satisfies SliceHeartbeat);
  const beat = setInterval(() => ctx.heartbeat({ cursor } satisfies SliceHeartbeat), beatEveryMs);

  const pending: OutcomeToCommit[] = [];
  const flush = async (nextInFlight: number | null) => {
    if (pending.length === 0) return;
    await ledger.commit(batchId, slice.start, pending, nextInFlight, owner);
    metrics.itemsCommitted(pending);
    cursor = pending[pending.length - 1].index + 1;
    pending.length = 0;
  };
  // A workflow cancel or a lost slice aborts the item in progress; a worker shutting down
  // (SIGTERM) lets the item finish and commit, so the slice resumes elsewhere with nothing redone.
  const itemAbort = new AbortController();
  let draining = false;
  const onCancel = () => {
    if (ctx.cancellationDetails?.workerShutdown) draining = true;
    else itemAbort.abort();
  };
  ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  const sliceSignal = itemAbort.signal;

  // Suspects (items once in flight when a worker died) run one at a time across the batch:
  // should one crash the worker again, no other suspect is in flight to take the blame (I8).
  const suspects = new Set(await ledger.interruptedIndexes(batchId, slice.start, end));
  const suspectLeaseMs = spec.heartbeatTimeoutMs;
  let holdingSuspectLease = false;
  const takeSuspectLease = async () => {
    while (!(await ledger.acquireSuspectLease(batchId, owner, suspectLeaseMs))) {
      if (draining || sliceSignal.aborted) throw new SliceCancelledError();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    holdingSuspectLease = true;
  };
  const renewLease = setInterval(() => {
    if (holdingSuspectLease) void ledger.renewSuspectLease(batchId, owner, suspectLeaseMs).catch(() => undefined);
  }, Math.max(100, Math.floor(suspectLeaseMs / 3)));

  // The item being processed right now, if a cancellation cuts it short.
  let cutShort: number | null = null;
  const runner = new ItemRunner({ batchId, spec, processor, log: ctx.log, sliceSignal });
  try {
    let marked = false;
    let lastYield = performance.now();
    for await (const item of source.readSlice(slice)) {
      if (item.index < cursor || committed.has(item.index) || succeededBefore?.has(item.index)) continue;
      // A processor that never waits on real I/O would run the whole slice in one go of the
      // microtask queue, starving the heartbeat timer until the server gives the slice away.
      if (performance.now() - lastYield >= 10) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (draining || sliceSignal.aborted) throw new SliceCancelledError();
      const suspect = suspects.has(item.index);
      if (suspect) {
        // Alone in its commit group, and marked in flight only once it really runs.
        await flush(null);
        await takeSuspectLease();
      }
      if (!marked || suspect) {
        await ledger.markInFlight(batchId, slice.start, item.index, owner);
        marked = true;
      }
      cutShort = item.index;
      const run = await runner.run(item);
      cutShort = null;
      if (run.kind === 'quota') {
        await flush(null);
        await ledger.markInFlight(batchId, slice.start, null, owner);
        metrics.quotaWait();
        metrics.sliceReturned('quota');
        return {
          outcome: 'quota',
          retryAfterMs: run.retryAfterMs,
          nextIndex: item.index,
          tally: await ledger.tally(batchId, slice.start, end),
        };
      }
      pending.push(run.outcome);
      const next = item.index + 1 < end ? item.index + 1 : null;
      if (suspect || pending.length >= spec.commitGroup || next === null) {
        await flush(next !== null && suspects.has(next) ? null : next);
      }
      if (suspect) {
        await ledger.releaseSuspectLease(batchId, owner);
        holdingSuspectLease = false;
      }
    }
    await flush(null);
    metrics.sliceReturned('done');
    return { outcome: 'done', tally: await ledger.tally(batchId, slice.start, end) };
  } catch (err) {
    if (err instanceof SliceCancelledError) {
      // Stop at an item boundary: what finished is committed, the item cut short is not, and is
      // left marked so the attempt that resumes the slice counts it as redone.
      await flush(null);
      if (cutShort === null) await ledger.markInFlight(batchId, slice.start, null, owner);
      else await ledger.markCutShort(batchId, slice.start, cutShort, owner);
      throw new CancelledFailure(`slice ${slice.start}-${end - 1} cancelled at item ${cursor}`);
    }
    if (err instanceof ApplicationFailure || err instanceof LeaseLostError) throw err;
    throw toApplicationFailure(err);
  } finally {
    runner.close();
    clearInterval(beat);
    clearInterval(renewLease);
    if (holdingSuspectLease) await ledger.releaseSuspectLease(batchId, owner).catch(() => undefined);
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
  }
}

function crashedWorkerOutcome(index: number, crashes: number): OutcomeToCommit {
  const now = Date.now();
  return {
    index,
    status: 'failed',
    errorType: 'crashed-worker',
    errorMessage: `the worker process died ${crashes} times while this item was in flight; it is dead-lettered so the batch can go on (raise itemCrashLimit to allow more tries)`,
    attempts: crashes,
    startedAt: now,
    finishedAt: now,
  };
}
