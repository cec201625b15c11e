/**
 * Workflow logic under time skipping, with stand-in activities over a virtual source whose
 * item i sits at byte offset 10 * i: slicing, continue-as-new at N with exact cursor
 * continuity, counters, quota waits on durable timers, and bad specs.
 */
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import type { WaymarkActivities } from '../../src/activities';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { progressQuery } from '../../src/contract/messages';
import { describeState } from '../../src/workflows/details';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { fakeActivities } from '../helpers/fake-activities';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const TASK_QUEUE = 'workflow-logic';

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
    workflowBundle = await bundleWaymarkWorkflows();
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
    expect(fake.record.plans.map((c) => c.from)).toEqual([0, 50, 100, 150, 200].map((i) => ({ index: i, offset: i * 10 })));
    expect(fake.record.plans.map((c) => c.countTotal)).toEqual([true, false, false, false, false]);
    expect(summary.runs).toBe(5);
    // Every item is in exactly one slice, slices are S items except the last.
    const covered = fake.record.slices.flatMap((s) => Array.from({ length: s.count }, (_, k) => s.start + k)).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: 237 }, (_, i) => i));
    expect(fake.record.slices.filter((s) => s.count !== 10)).toEqual([
      { start: 230, count: 7, startOffset: 2300, endOffset: 2370, lanes: 3 },
    ]);
    // C = 3 lanes in one slice at a time (src/contract/lanes.ts): each slice launched with all of them.
    expect(new Set(fake.record.launches.map((l) => l.lanes))).toEqual(new Set([3]));

    expect(progress).toMatchObject({ state: 'completed', total: 237, succeeded: 237 - 34, failed: 34, cursor: 237, runs: 5 });
  });

  it('lends the lanes of slices that ended to a slice left running alone, never more than C, and covers every item once (I14)', async () => {
    // C = 16: two slices of 8 lanes at a time; the last slice (30-39) runs until lanes are lent to it.
    const fake = fakeActivities(40, { slowAt: 33, failEvery: 5 });
    const summary = await run(fake.activities, () =>
      env.client.workflow.execute('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: 'lend-tail',
        args: [spec({ concurrency: 16, checkpointEvery: 40 })],
      }),
    );
    expect(fake.record.launches.map((l) => [l.slice.start, l.lanes ?? 0]).sort((a, b) => a[0] - b[0])).toEqual([
      [0, 8],
      [10, 8],
      [20, 8],
      [30, 8],
    ]);
    // Slice 20 ended while slice 30 ran: its 8 lanes were lent to slice 30, and lanes held never passed C.
    expect(fake.record.lends.length).toBeGreaterThanOrEqual(1);
    const lend = fake.record.lends[0];
    expect(lend.slices.map((s) => [s.start, s.lanes])).toEqual([[30, 8]]);
    expect(lend.freeLanes).toBe(8);
    for (const l of fake.record.lends) expect(l.slices.reduce((sum, s) => sum + s.lanes, 0) + l.freeLanes).toBeLessThanOrEqual(16);
    expect(fake.record.lentToSlow).toBe(16);
    // A lending writes at a new control generation, so a slice launched later keeps its own lanes.
    expect(lend.generation).toBeGreaterThan(fake.record.launches.find((l) => l.slice.start === 30)!.controlGeneration!);
    const failed = [0, 5, 10, 15, 20, 25, 30, 35].length;
    expect(summary).toMatchObject({ runs: 1, status: 'completed' });
    const progress = await run(fake.activities, () => env.client.workflow.getHandle('lend-tail').query(progressQuery));
    expect(progress).toMatchObject({ state: 'completed', succeeded: 40 - failed, failed, cursor: 40 });
  });

  it('completes an empty source with zero items in one run', async () => {
    const fake = fakeActivities(0);
    const summary = await run(fake.activities, () =>
      env.client.workflow.execute('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'empty', args: [spec()] }),
    );
    expect(summary.runs).toBe(1);
    expect(fake.record.slices).toEqual([]);
  });

  it('shows adaptive lanes as its slices and the ledger report them, with its bounds; launches slices for MAX', async () => {
    const lastCut = { at: 1_765_000_000_000, from: 8, to: 6, cause: 'http 429' };
    const adaptiveLanes = { batchLanes: 6, poolLanes: 6, cuts: 1, lastCut };
    const fake = fakeActivities(100, { adaptiveLanes });
    const progress = await run(fake.activities, async () => {
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: 'adaptive-shown',
        args: [spec({ concurrency: { auto: { min: 2, max: 16 } }, checkpointEvery: 100 })],
      });
      await handle.result();
      return handle.query(progressQuery);
    });
    expect(progress.adaptiveLanes).toEqual({ min: 2, max: 16, ...adaptiveLanes });
    expect(progress.concurrency).toBe(16);
    expect(fake.record.launches.reduce((sum, l) => sum + (l.lanes ?? 0), 0)).toBeGreaterThanOrEqual(16);
  });

  it('shows no adaptive lanes for a fixed concurrency', async () => {
    const fake = fakeActivities(20, { adaptiveLanes: { batchLanes: 6, poolLanes: 6, cuts: 0 } });
    const progress = await run(fake.activities, async () => {
      const handle = await env.client.workflow.start('batchWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'fixed-shown', args: [spec()] });
      await handle.result();
      return handle.query(progressQuery);
    });
    expect(progress.adaptiveLanes).toBeUndefined();
  });

  it('waits out a quota on a durable timer, says so in progress, and resumes the stopped slice', async () => {
    const hour = 60 * 60 * 1000;
    const fake = fakeActivities(40, { quotaOnceAt: 15, quotaMs: hour });
    await run(fake.activities, async () => {
      const before = await env.currentTimeMs();
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: 'quota',
        args: [spec({ concurrency: 1 })],
      });
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
    expect(fake.record.slices.filter((s) => s.start === 10)).toHaveLength(2);
  });

  it.each([
    { quotaOn: { pacedOn: 'openai' }, shown: 'paced on openai until' },
    { quotaOn: { heldOn: 'openai' }, shown: 'waiting for quota on openai until' },
  ])('names the rate limit key of a quota wait in progress and the Web UI: "$shown T"', async ({ quotaOn, shown }) => {
    const minute = 60_000;
    const fake = fakeActivities(40, { quotaOnceAt: 15, quotaMs: minute, quotaOn });
    await run(fake.activities, async () => {
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `named-quota-${shown.length}`,
        args: [spec({ concurrency: 1 })],
      });
      let p = await handle.query(progressQuery);
      for (let i = 0; i < 100 && p.state !== 'waiting-for-quota'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        p = await handle.query(progressQuery);
      }
      expect(p).toMatchObject({ state: 'waiting-for-quota', ...quotaOn });
      const expected = `${shown} ${new Date(p.quotaUntil!).toISOString()}`;
      expect(describeState(p)).toBe(expected);
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain(`**${expected}**`);
      await handle.result();
      // Once the wait is over the key is no longer named.
      const final = await handle.query(progressQuery);
      expect(final).toMatchObject({ state: 'completed', succeeded: 40 });
      expect(final.pacedOn ?? final.heldOn).toBeUndefined();
    });
  });

  it('keeps every run within its event budget while a per-hour limit stops a slice after each item (I2)', async () => {
    // 400 items in one slice, one item an hour: a run would need about 13 events per item.
    const fake = fakeActivities(400, { pacedItemByItem: { key: 'hourly', ms: 3_600_000 } });
    const summary = await run(fake.activities, () =>
      env.client.workflow.execute('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: 'paced-hourly',
        args: [spec({ sliceSize: 400, checkpointEvery: 400, concurrency: 1 })],
      }),
    );
    expect(summary.status).toBe('completed');
    expect(summary.runs).toBeGreaterThan(1);
    const handle = env.client.workflow.getHandle('paced-hourly');
    let runId: string | undefined = (await handle.describe()).runId;
    const lengths: number[] = [];
    while (runId !== undefined) {
      const events: temporal.api.history.v1.IHistoryEvent[] =
        (await env.client.workflow.getHandle('paced-hourly', runId).fetchHistory()).events ?? [];
      lengths.push(events.length);
      const previous: string | null | undefined = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      runId = previous || undefined;
    }
    expect(lengths).toHaveLength(summary.runs);
    for (const length of lengths) expect(length).toBeLessThan(2000);
    // The slice ran once per item, and once more in each run that took it over.
    expect(fake.record.slices.filter((s) => s.start === 0).length).toBeGreaterThanOrEqual(400);
  });

  it('stops with status failed-tolerance when failures exceed the tolerated count, stopping slices in flight', async () => {
    // Every other item fails: 5 per slice. Slices from item 20 on run until stopped. C = 16: two slices at a time.
    const fake = fakeActivities(100, { failEvery: 2, gateFrom: 20 });
    const err = await run(fake.activities, () =>
      env.client.workflow
        .execute('batchWorkflow', {
          taskQueue: TASK_QUEUE,
          workflowId: 'tolerance',
          args: [spec({ checkpointEvery: 100, concurrency: 16, toleratedFailureCount: 5, heartbeatTimeoutMs: 5000 })],
        })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('FailedTolerance');
    expect(cause.message).toMatch(/^batch stopped: 10 failed items exceed toleratedFailureCount \(5\)/);
    expect(fake.record.finals).toEqual([
      expect.objectContaining({ status: 'failed-tolerance', stopReason: '10 failed items exceed toleratedFailureCount (5)', total: 100 }),
    ]);
    // Every slow slice that was in flight stopped through the ledger's control (no cancel needed),
    // and no new slice was launched after the stop: whether slices 20 and 30 started depends on
    // which of slices 0 and 10 the workflow saw finish first.
    const launched = fake.record.slices.map((c) => c.start).sort((a, b) => a - b);
    expect([
      [0, 10],
      [0, 10, 20],
      [0, 10, 20, 30],
    ]).toContainEqual(launched);
    expect(fake.record.stopped.map((x) => x.start).sort((a, b) => a - b)).toEqual(launched.filter((start) => start >= 20));
    expect(fake.record.stopped.every((x) => x.reason === 'stop')).toBe(true);
    expect(fake.record.cancelled).toEqual([]);
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
    expect(fake.record.plans).toEqual([]);
  });
});
