/**
 * Live control of a running batch under time skipping, with stand-in activities whose slices
 * run until the test releases them: pause and resume, configure, and graceful cancel.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WaymarkActivities } from '../../src/activities';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal, type BatchProgress } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { waitFor } from '../helpers/wait-for';
import { fakeActivities } from '../helpers/fake-activities';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const TASK_QUEUE = 'workflow-control';

const spec = (over: Partial<BatchSpecInput> = {}): BatchSpecInput => ({
  source: { kind: 'text', path: '/data/words.txt' },
  processor: { name: 'noop' },
  sliceSize: 10,
  checkpointEvery: 50,
  concurrency: 2,
  heartbeatTimeoutMs: 1000,
  ...over,
});

describe('live control of a batch (time skipping)', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    workflowBundle = await bundleWaymarkWorkflows();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function withBatch<T>(
    activities: WaymarkActivities,
    id: string,
    input: BatchSpecInput,
    fn: (handle: WorkflowHandle<typeof batchWorkflow>, progress: () => Promise<BatchProgress>) => Promise<T>,
  ): Promise<T> {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle, activities });
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: id,
        args: [input],
      });
      return fn(handle, () => handle.query(progressQuery));
    });
  }

  it('pauses through the ledger: slices in flight stop, none start; resume runs them again from where they stopped', async () => {
    const { activities, record: state, release } = fakeActivities(50, { gateFrom: 0 });
    // C = 16: two slices of 8 lanes.
    await withBatch(activities, 'pause', spec({ concurrency: 16 }), async (handle, progress) => {
      await waitFor('two slices in flight', async () => (await progress()).slicesInFlight === 2);
      expect((await progress()).lanesHeld).toBe(16);
      await handle.signal(pauseSignal);
      await waitFor('the pause to take hold', async () => {
        const p = await progress();
        return p.state === 'paused' && p.slicesInFlight === 0;
      });
      // The slices heard the pause from the control the workflow wrote, not from a cancel in a heartbeat.
      expect(state.controls.map((c) => [c.state, c.generation])).toEqual([['pause', 1]]);
      expect(state.stopped.map((x) => x.start).sort((a, b) => a - b)).toEqual([0, 10]);
      expect(state.cancelled).toEqual([]);
      const startedWhilePaused = state.slices.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(state.slices).toHaveLength(startedWhilePaused);

      release();
      await handle.signal(resumeSignal);
      const summary = await handle.result();
      expect(summary.status).toBe('completed');
    });
    // Every slice finished once; the two paused ones ran twice (their second run resumes from the ledger).
    expect(state.slices.map((x) => x.start).sort((a, b) => a - b)).toEqual([0, 0, 10, 10, 20, 30, 40]);
    // Resume wrote a new generation first: slices launched after it do not obey the pause written before.
    expect(state.controls.map((c) => [c.state, c.generation])).toEqual([
      ['pause', 1],
      ['run', 2],
    ]);
    const relaunched = state.launches.filter((l) => l.slice.start <= 10).slice(2);
    expect(relaunched.map((l) => l.controlGeneration)).toEqual([2, 2]);
  });

  it('falls back on cancelling the slices when the ledger does not take the pause', async () => {
    const { activities, record: state, release } = fakeActivities(50, { gateFrom: 0 });
    activities.controlSlices = () => Promise.reject(new Error('ledger unreachable'));
    await withBatch(activities, 'pause-fallback', spec({ concurrency: 16 }), async (handle, progress) => {
      await waitFor('two slices in flight', async () => (await progress()).slicesInFlight === 2);
      await handle.signal(pauseSignal);
      await waitFor('the pause to take hold', async () => {
        const p = await progress();
        return p.state === 'paused' && p.slicesInFlight === 0;
      });
      expect(state.cancelled.sort((a, b) => a - b)).toEqual([0, 10]);
      release();
      await handle.signal(resumeSignal);
      expect((await handle.result()).status).toBe('completed');
    });
  });

  it('configure raises concurrency from the next slice, refuses an invalid slice size, and applies a new one from the next window', async () => {
    const { activities, record: state, release } = fakeActivities(100, { gateFrom: 0 });
    await withBatch(activities, 'configure', spec({ concurrency: 1 }), async (handle, progress) => {
      await waitFor('one slice in flight', async () => (await progress()).slicesInFlight === 1);
      expect(await handle.executeUpdate(configureUpdate, { args: [{ concurrency: 3 }] })).toEqual({ concurrency: 3, sliceSize: 10 });
      // The rest of the window is cut again for 3 lanes, and the free lanes go to the next slice.
      await waitFor('three lanes held', async () => (await progress()).lanesHeld === 3);
      expect((await progress()).slicesInFlight).toBe(2);

      const refused = await handle.executeUpdate(configureUpdate, { args: [{ sliceSize: 7 }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((refused as Error).cause as Error).message).toBe(
        // Not "use checkpointEvery 49": configure cannot change checkpointEvery.
        "slice size 7 does not divide this batch's checkpointEvery (50 items per workflow run), which cannot change while it runs; choose a slice size that divides it, e.g. 5 or 10",
      );

      // Both at once: more lanes are wanted while the window is being wound up for re-planning.
      expect(await handle.executeUpdate(configureUpdate, { args: [{ concurrency: 4, sliceSize: 25 }] })).toEqual({
        concurrency: 4,
        sliceSize: 25,
      });
      // A budget is set at start: one cannot be raised on a batch that has none.
      const noBudget = await handle.executeUpdate(configureUpdate, { args: [{ budget: 5 }] }).catch((e: unknown) => e);
      expect(((noBudget as Error).cause as Error).message).toBe(
        'this batch has no budget to raise; a budget is set when the batch starts (`waymark start --budget UNIT=MAX`)',
      );
      release();
      await handle.result();
    });
    // The first window was cut in slices of 10, its tail cut again for 3 lanes; the window after the change, in slices of 25.
    expect(state.plans.map((p) => p.spec.sliceSize)).toEqual([10, 10, 25, 25]);
    expect(state.plans[1].laneShares).toEqual([3]);
    expect(state.plans.at(-1)!.spec.concurrency).toBe(4);
  });

  it('shows the usage it read from the ledger at a pause, and still after continue-as-new, before the next run reads it', async () => {
    const { activities, release } = fakeActivities(100, { gateFrom: 0 });
    const ledgerTotals = activities.batchTotals;
    let reads = 0;
    // The ledger reports usage once; later reads (and the manifest) have none, so only the checkpoint can carry it.
    activities.batchTotals = async (input) => ({ ...(await ledgerTotals(input)), ...(reads++ === 0 ? { usage: { tokens: 7 } } : {}) });
    await withBatch(activities, 'usage-carried', spec({ concurrency: 16 }), async (handle, progress) => {
      await waitFor('two slices in flight', async () => (await progress()).slicesInFlight === 2);
      await handle.signal(pauseSignal);
      await waitFor('the pause to read the ledger', async () => (await progress()).usage !== undefined);
      expect((await progress()).usage).toEqual({ tokens: 7 });
      release();
      await handle.signal(resumeSignal);
      await handle.result();
      expect(await progress()).toMatchObject({ runs: 2, usage: { tokens: 7 } });
    });
  });

  it('cancels gracefully: slices stop at an item boundary, the manifest is written, the batch ends cancelled', async () => {
    const { activities, record: state } = fakeActivities(50, { gateFrom: 0 });
    await withBatch(activities, 'cancel', spec({ concurrency: 16 }), async (handle, progress) => {
      await waitFor('two slices in flight', async () => (await progress()).slicesInFlight === 2);
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
      expect((await handle.describe()).status.name).toBe('CANCELLED');
    });
    // The stop reaches the slices through the ledger at once; the cancel of their activities may
    // also reach one first: either way each stopped once, and nothing new started.
    expect(state.controls.map((c) => c.state)).toEqual(['stop']);
    expect([...state.stopped.map((x) => x.start), ...state.cancelled].sort((a, b) => a - b)).toEqual([0, 10]);
    expect(state.slices.map((x) => x.start).sort((a, b) => a - b)).toEqual([0, 10]);
    expect(state.finals.map((f) => f.status)).toEqual(['cancelled']);
  });
});
