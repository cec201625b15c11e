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
import type { Source, SourceItem } from '../sources/source';
import { evenSizes } from '../sources/window-planner';
import type { SliceBounds } from '../contract/slices';
import { getProcessor } from '../processors/registry';
import { sourceBatchId } from '../redrive/redriven-batch';
import { ItemRunner, SliceCancelledError, type QuotaStop } from './run-item';
import { toApplicationFailure } from './failures';
import { SliceMetrics } from '../telemetry/batch-metrics';
import { SliceSession } from './slice-session';
import { chargeInterruption, SuspectItems } from './suspect-items';
import { BudgetGuard } from './budget-guard';
import { Pacer } from './pacer';

/**
 * A slice stopped by the budget tells an older workflow, which knows no budgets, to wait this long
 * and try again; a workflow that knows them pauses instead.
 */
const BUDGET_RECHECK_MS = 60_000;

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
  const budget = BudgetGuard.forSpec(ledger, batchId, spec);
  // A named rate limit (INVARIANTS.md I13): the runner takes a token before each item starts.
  const pacer =
    spec.rateLimit && new Pacer(ledger, spec.rateLimit, batchId, (w) => metrics.rateLimitWait(w.key, w.held ? 'held' : 'paced'));
  const runner = new ItemRunner({
    batchId,
    spec,
    processor,
    log: ctx.log,
    sliceSignal: session.signal,
    pacer,
    activitySignal: ctx.cancellationSignal,
  });
  // Loaded inside the try: should the ledger fail here, the session's timers still stop.
  let suspects: SuspectItems | undefined;
  try {
    suspects = await SuspectItems.load(ledger, session, spec);
    const itemsPerCall = spec.itemsPerCall ?? 1;
    const items = source.readSlice(slice);
    const split = splitter(session, source, slice);
    // A processor that takes one item at a time runs so whatever itemsPerCall says.
    if (itemsPerCall > 1 && processor.processBatch) return await runCalls(session, suspects, runner, items, split, itemsPerCall, budget);
    return await runItems(session, suspects, runner, items, split, budget);
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
async function runItems(
  session: SliceSession,
  suspects: SuspectItems,
  runner: ItemRunner,
  items: AsyncIterable<SourceItem>,
  split: Splitter,
  budget: BudgetGuard | undefined,
): Promise<ProcessSliceResult> {
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
    if (budget && (await budget.reached(session.cursor))) return stopForBudget(session, index);
    if (suspects.has(index)) {
      const stopped = await runSuspect(session, suspects, runner, item);
      if (stopped) return stopped;
      continue;
    }
    if (session.splitPieces !== undefined) {
      const rest = await split(index);
      if (rest) return rest;
    }
    if (!session.marked) await session.markInFlight(index);
    session.inProgress = index;
    const run = await runner.run(item);
    session.inProgress = null;
    if (run.kind === 'quota') return stopForQuota(session, run, index);
    session.hold(run.outcome);
    budget?.spent(run.outcome);
    const next = index + 1 < session.end ? index + 1 : null;
    if (session.groupFull || next === null) await session.flush(suspects.nextInFlight(next));
  }
  await session.finish();
  return { outcome: 'done', tally: await session.tally() };
}

/**
 * A suspect (in flight when a worker died) runs alone: its own commit group, under the batch-wide
 * suspect lease, marked in flight only once it really runs (INVARIANTS.md I8). Returns the slice's
 * result when a quota stops it there.
 */
async function runSuspect(
  session: SliceSession,
  suspects: SuspectItems,
  runner: ItemRunner,
  item: SourceItem,
): Promise<ProcessSliceResult | undefined> {
  const index = item.index;
  await session.flush(null);
  await suspects.takeLease();
  await session.markInFlight(index);
  session.inProgress = index;
  const run = await runner.run(item);
  session.inProgress = null;
  if (run.kind === 'quota') return stopForQuota(session, run, index);
  session.hold(run.outcome);
  await session.flush(suspects.nextInFlight(index + 1 < session.end ? index + 1 : null));
  await suspects.releaseLease();
  return undefined;
}

/** The slice stops before `nextIndex` for a quota wait, keeping what it committed. */
async function stopForQuota(session: SliceSession, stop: QuotaStop, nextIndex: number): Promise<ProcessSliceResult> {
  await session.stopForQuota();
  const { retryAfterMs, pacedOn, heldOn } = stop;
  return {
    outcome: 'quota',
    retryAfterMs,
    nextIndex,
    tally: await session.tally(),
    ...(pacedOn && { pacedOn }),
    ...(heldOn && { heldOn }),
  };
}

/** The batch's budget is reached: the slice stops before `nextIndex` as for a quota, keeping what it committed. */
async function stopForBudget(session: SliceSession, nextIndex: number): Promise<ProcessSliceResult> {
  await session.stopForQuota('budget');
  return { outcome: 'quota', retryAfterMs: BUDGET_RECHECK_MS, nextIndex, tally: await session.tally(), budgetReached: true };
}

/**
 * runItems for a processor that takes many items per call: each call takes up to M items and no
 * more than the open commit group has room for, so at most max(k, M) items are uncommitted. The
 * in-flight mark is the first item of the open group, which every call of the group follows.
 * Suspects run alone, in calls of one, as in runItems.
 */
async function runCalls(
  session: SliceSession,
  suspects: SuspectItems,
  runner: ItemRunner,
  items: AsyncIterable<SourceItem>,
  split: Splitter,
  itemsPerCall: number,
  budget: BudgetGuard | undefined,
): Promise<ProcessSliceResult> {
  const call: SourceItem[] = [];
  let lastYield = performance.now();
  const runOpenCall = async (next: number | null): Promise<ProcessSliceResult | undefined> => {
    if (call.length === 0) return undefined;
    if (performance.now() - lastYield >= 10) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (session.stopping) throw new SliceCancelledError();
    if (budget && (await budget.reached(session.cursor))) return stopForBudget(session, call[0].index);
    if (!session.marked) await session.markInFlight(call[0].index);
    session.inProgress = call[0].index;
    const run = await runner.runCall(call.splice(0));
    session.inProgress = null;
    for (const outcome of run.outcomes) {
      session.hold(outcome);
      budget?.spent(outcome);
    }
    if (run.quota) return stopForQuota(session, run.quota, run.quota.nextIndex);
    if (session.groupFull || next === null) await session.flush(suspects.nextInFlight(next));
    return undefined;
  };

  for await (const item of items) {
    const index = item.index;
    if (index < session.cursor || session.isSettled(index)) continue;
    if (suspects.has(index)) {
      const stopped = await runOpenCall(index);
      if (stopped) return stopped;
      if (session.stopping) throw new SliceCancelledError();
      if (budget && (await budget.reached(session.cursor))) return stopForBudget(session, index);
      const stoppedOnSuspect = await runSuspect(session, suspects, runner, item);
      if (stoppedOnSuspect) return stoppedOnSuspect;
      continue;
    }
    // Between calls only: the items of an open call are the call's.
    if (call.length === 0 && session.splitPieces !== undefined) {
      if (session.stopping) throw new SliceCancelledError();
      const rest = await split(index);
      if (rest) return rest;
    }
    call.push(item);
    if (call.length >= Math.min(itemsPerCall, session.groupRoom)) {
      const stopped = await runOpenCall(index + 1 < session.end ? index + 1 : null);
      if (stopped) return stopped;
    }
  }
  const stopped = await runOpenCall(null);
  if (stopped) return stopped;
  await session.finish();
  return { outcome: 'done', tally: await session.tally() };
}

/** Splits the slice before `nextIndex`, or returns undefined when it runs on whole. */
type Splitter = (nextIndex: number) => Promise<ProcessSliceResult | undefined>;

/**
 * A lane fell idle and asked this attempt to split (request-split.ts): the attempt, having
 * started nothing at or past `nextIndex`, hands those items back cut into slices for the lanes,
 * as a SIGTERM would stop it (what finished is committed, nothing is in flight, nothing is
 * redone). The cut is read from the source like a window's, from the slice's own start, since
 * only the source knows where an item begins. A slice with one item left runs on.
 */
function splitter(session: SliceSession, source: Source, slice: SliceBounds): Splitter {
  return async (nextIndex) => {
    const pieces = Math.min(session.takeSplit(), session.end - nextIndex);
    if (pieces < 2 || session.stopping) return undefined;
    const before = nextIndex - slice.start;
    const sizes = [...(before > 0 ? [before] : []), ...evenSizes(session.end - nextIndex, pieces)];
    const plan = await source.planWindow({ index: slice.start, offset: slice.startOffset }, slice.count, sizes);
    const rest = before > 0 ? plan.slices.slice(1) : plan.slices;
    const last = rest[rest.length - 1];
    // The source changed under the slice (a file rewritten): the slice runs on whole, as planned.
    if (
      rest.length !== pieces ||
      rest[0].start !== nextIndex ||
      last.start + last.count !== session.end ||
      last.endOffset !== slice.endOffset
    )
      return undefined;
    await session.stopForSplit();
    return { outcome: 'split', tally: await session.tally(nextIndex), rest };
  };
}
