/**
 * Workflow logic under time skipping, with stand-in activities over a virtual source whose
 * item i sits at byte offset 10 * i: slicing, continue-as-new at N with exact cursor
 * continuity, counters, quota waits on durable timers, and bad specs.
 */
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WaymarkActivities } from '../../src/activities';
import { Context } from '@temporalio/activity';
import type { FinalizeInput, PlanWindowInput, ProcessSliceInput, ProcessSliceResult } from '../../src/activities/contracts';
import type { SliceBounds } from '../../src/sources/source';
import type { BatchSpecInput } from '../../src/spec/batch-spec';
import { progressQuery } from '../../src/workflows/definitions';
import { createTimeSkippingEnv } from '../helpers/temporal-env';

const TASK_QUEUE = 'workflow-logic';

function fakeActivities(
  totalItems: number,
  opts: { failEvery?: number; quotaOnceAt?: number; quotaMs?: number; blockFrom?: number } = {},
) {
  const planCalls: PlanWindowInput[] = [];
  const sliceCalls: SliceBounds[] = [];
  const finalizeCalls: FinalizeInput[] = [];
  const cancelledSlices: number[] = [];
  let quotaPending = opts.quotaOnceAt !== undefined;
  const activities: WaymarkActivities = {
    async planWindow(input) {
      planCalls.push(input);
      const end = Math.min(totalItems, input.from.index + input.maxItems);
      const slices: SliceBounds[] = [];
      for (let s = input.from.index; s < end; s += input.spec.sliceSize!) {
        const e = Math.min(end, s + input.spec.sliceSize!);
        slices.push({ start: s, count: e - s, startOffset: s * 10, endOffset: e * 10 });
      }
      return {
        plan: { slices, next: { index: end, offset: end * 10 }, exhausted: end >= totalItems },
        total: input.countTotal ? totalItems : undefined,
      };
    },
    async processSlice({ slice }: ProcessSliceInput): Promise<ProcessSliceResult> {
      sliceCalls.push(slice);
      if (opts.blockFrom !== undefined && slice.start >= opts.blockFrom) {
        // A slow slice: runs until the workflow cancels it, as a real slice stops at an item boundary.
        const ctx = Context.current();
        try {
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(20);
          }
        } catch (err) {
          cancelledSlices.push(slice.start);
          throw err;
        }
      }
      const failed = opts.failEvery ? countMultiples(slice.start, slice.start + slice.count, opts.failEvery) : 0;
      const end = slice.start + slice.count;
      if (quotaPending && opts.quotaOnceAt! >= slice.start && opts.quotaOnceAt! < end) {
        quotaPending = false;
        const doneBefore = opts.quotaOnceAt! - slice.start;
        return { outcome: 'quota', retryAfterMs: opts.quotaMs!, nextIndex: opts.quotaOnceAt!, tally: { succeeded: doneBefore, failed: 0, redone: 0 } };
      }
      return { outcome: 'done', tally: { succeeded: slice.count - failed, failed, redone: 0 } };
    },
    async finalize(input) {
      finalizeCalls.push(input);
      return {
        manifestPath: `/tmp/${input.batchId}.json`,
        manifest: {
          batchId: input.batchId, status: input.status, total: totalItems, succeeded: 0, failed: 0, pending: 0, pendingRanges: [], redone: 0,
          runs: input.runs, startedAt: new Date(input.startedAt).toISOString(), finishedAt: new Date(input.finishedAt).toISOString(),
          durationMs: input.finishedAt - input.startedAt, itemsPerSecond: 0, resumeCostBound: 0,
          source: input.spec.source, processor: input.spec.processor.name, sliceSize: input.spec.sliceSize,
          checkpointEvery: input.spec.checkpointEvery, concurrency: input.spec.concurrency, commitGroup: input.spec.commitGroup,
        },
      };
    },
  };
  return { activities, planCalls, sliceCalls, finalizeCalls, cancelledSlices };
}

function countMultiples(from: number, to: number, every: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (i % every === 0) n++;
  return n;
}

const spec = (over: Partial<BatchSpecInput> = {}): BatchSpecInput => ({
  source: { kind: 'jsonl', path: '/data/items.jsonl' },
  processor: { name: 'noop' },
  sliceSize: 10,
  checkpointEvery: 50,
  concurrency: 3,
  ...over,
});

describe('batchWorkflow (time skipping)', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function run<T>(activities: WaymarkActivities, fn: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle, activities });
    return worker.runUntil(fn);
  }

  it('cuts windows of N into slices of S and continues-as-new with an exact cursor', async () => {
    const fake = fakeActivities(237, { failEvery: 7 });
    // Queries are answered by a worker, so the final progress is read while it still runs.
    const [summary, progress] = await run(fake.activities, async () => {
      const result = await env.client.workflow.execute('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'windows', args: [spec()] });
      return [result, await env.client.workflow.getHandle('windows').query(progressQuery)] as const;
    });
    // 237 items at N = 50: five runs, each planned from exactly where the previous one stopped.
    expect(fake.planCalls.map((c) => c.from)).toEqual([0, 50, 100, 150, 200].map((i) => ({ index: i, offset: i * 10 })));
    expect(fake.planCalls.map((c) => c.countTotal)).toEqual([true, false, false, false, false]);
    expect(summary.runs).toBe(5);
    // Every item is in exactly one slice, slices are S items except the last.
    const covered = fake.sliceCalls.flatMap((s) => Array.from({ length: s.count }, (_, k) => s.start + k)).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: 237 }, (_, i) => i));
    expect(fake.sliceCalls.filter((s) => s.count !== 10)).toEqual([{ start: 230, count: 7, startOffset: 2300, endOffset: 2370 }]);

    expect(progress).toMatchObject({ state: 'completed', total: 237, succeeded: 237 - 34, failed: 34, cursor: 237, runs: 5 });
  });

  it('completes an empty source with zero items in one run', async () => {
    const fake = fakeActivities(0);
    const summary = await run(fake.activities, () =>
      env.client.workflow.execute('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'empty', args: [spec()] }),
    );
    expect(summary.runs).toBe(1);
    expect(fake.sliceCalls).toEqual([]);
  });

  it('waits out a quota on a durable timer, says so in progress, and resumes the stopped slice', async () => {
    const hour = 60 * 60 * 1000;
    const fake = fakeActivities(40, { quotaOnceAt: 15, quotaMs: hour });
    await run(fake.activities, async () => {
      const before = await env.currentTimeMs();
      const handle = await env.client.workflow.start('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'quota', args: [spec({ concurrency: 1 })] });
      // Time only skips while a result is awaited, so the wait can be observed first.
      let p = await handle.query(progressQuery);
      for (let i = 0; i < 100 && p.state !== 'waiting-for-quota'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        p = await handle.query(progressQuery);
      }
      expect(p.state).toBe('waiting-for-quota');
      expect(p.quotaUntil).toBeGreaterThanOrEqual(before + hour);
      expect(p.succeeded).toBe(15);
      await handle.result();
      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(before + hour);
      const final = await handle.query(progressQuery);
      expect(final).toMatchObject({ state: 'completed', succeeded: 40, failed: 0 });
    });
    // The slice holding item 15 ran twice: stopped by the quota, then again after the wait.
    expect(fake.sliceCalls.filter((s) => s.start === 10)).toHaveLength(2);
  });

  it('stops with status failed-tolerance when failures exceed the tolerated count, cancelling slices in flight', async () => {
    // Every other item fails: 5 per slice. Slices from item 20 on run until cancelled.
    const fake = fakeActivities(100, { failEvery: 2, blockFrom: 20 });
    const err = await run(fake.activities, () =>
      env.client.workflow
        .execute('batchWorkflow', {
          taskQueue: TASK_QUEUE,
          workflowId: 'tolerance',
          args: [spec({ checkpointEvery: 100, concurrency: 3, toleratedFailureCount: 5, heartbeatTimeoutMs: 5000 })],
        })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('FailedTolerance');
    expect(cause.message).toMatch(/^batch stopped: 10 failed items exceed toleratedFailureCount \(5\)/);
    expect(fake.finalizeCalls).toEqual([
      expect.objectContaining({ status: 'failed-tolerance', stopReason: '10 failed items exceed toleratedFailureCount (5)', total: 100 }),
    ]);
    // Every slow slice that was in flight got cancelled, and no new slice was launched after the stop:
    // whether slice 30 started depends on which of slices 0 and 10 the workflow saw finish first.
    const launched = fake.sliceCalls.map((c) => c.start).sort((a, b) => a - b);
    expect([[0, 10, 20], [0, 10, 20, 30]]).toContainEqual(launched);
    expect(fake.cancelledSlices.sort((a, b) => a - b)).toEqual(launched.filter((start) => start >= 20));
  });

  it('fails at once with a non-retryable error naming the field of a bad spec', async () => {
    const fake = fakeActivities(10);
    const err = await run(fake.activities, () =>
      env.client.workflow
        .execute('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'bad-spec', args: [spec({ sliceSize: 30, checkpointEvery: 50 })] })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('SpecError');
    expect(cause.message).toBe('invalid batch spec: checkpointEvery (50) is not a multiple of sliceSize (30); use e.g. 60');
    expect(fake.planCalls).toEqual([]);
  });
});

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
