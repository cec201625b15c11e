/**
 * I16, the workflow's half: which events a batch tells and when, under time skipping with
 * stand-in activities whose deliverNotification records what it was given (the HTTP half is
 * test/notifications/). Every event fires once per transition, across continue-as-new, with the
 * documented fields; a batch without `notify` starts no notification at all. Stalls need real
 * time with a slice running (the test server skips no time then): test/notifications/ tells them.
 */
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { configureUpdate, progressQuery, type BatchProgress } from '../../src/contract/messages';
import type { NotificationEvent } from '../../src/contract/notifications';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { waitFor } from '../helpers/wait-for';
import { fakeActivities } from '../helpers/fake-activities';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const TASK_QUEUE = 'workflow-notifications';
const MINUTE = 60_000;

const spec = (over: Partial<BatchSpecInput> = {}): BatchSpecInput => ({
  source: { kind: 'text', path: '/data/words.txt' },
  processor: { name: 'noop' },
  sliceSize: 10,
  checkpointEvery: 20,
  concurrency: 2,
  heartbeatTimeoutMs: 5000,
  notify: { targets: [{ url: 'http://127.0.0.1:9/hook' }] },
  ...over,
});

describe('what a batch tells, and when (time skipping)', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    workflowBundle = await bundleWaymarkWorkflows();
  });
  // A server each: a batch left waiting by one test must not hold up another's skipped time.
  beforeEach(async () => {
    env = await createTimeSkippingEnv();
  });
  afterEach(async () => {
    await env?.teardown();
  });

  type Fake = ReturnType<typeof fakeActivities>;

  /**
   * Runs a batch to `fn`'s end, then keeps the worker up until `tells` events were delivered (the
   * notify workflows run on the batch's task queue) and a moment more, in which a second delivery
   * of an event would show. Returns the events in the order they happened.
   */
  async function withBatch(
    fake: Fake,
    id: string,
    input: BatchSpecInput,
    fn: (handle: WorkflowHandle<typeof batchWorkflow>, progress: () => Promise<BatchProgress>) => Promise<unknown>,
    tells = 1,
  ): Promise<NotificationEvent[]> {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: `${TASK_QUEUE}-${id}`,
      workflowBundle,
      activities: fake.activities,
    });
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
        taskQueue: `${TASK_QUEUE}-${id}`,
        workflowId: id,
        args: [input],
      });
      await fn(handle, () => handle.query(progressQuery));
      await waitFor(`${tells} notification(s)`, () => fake.record.notifications.length >= tells);
      await new Promise((r) => setTimeout(r, 500));
      return fake.record.notifications.map((n) => n.event).sort((x, y) => x.at - y.at || x.id.localeCompare(y.id));
    });
  }

  it('tells finished once across three runs, with counts, redone, bound and its own id, to the targets that take it', async () => {
    const fake = fakeActivities(50);
    const input = spec({
      notify: { targets: [{ url: 'http://127.0.0.1:9/all' }, { url: 'http://127.0.0.1:9/failures-only', events: ['failed'] }] },
    });
    let runs = 0;
    const events = await withBatch(fake, 'tells-finished', input, async (handle) => (runs = (await handle.result()).runs));
    expect(runs).toBe(3);
    expect(events).toHaveLength(1);
    expect(fake.record.notifications.map((n) => n.target.url)).toEqual(['http://127.0.0.1:9/all']);
    const [finished] = events;
    expect(finished).toMatchObject({
      name: 'finished',
      batchId: 'tells-finished',
      total: 50,
      succeeded: 50,
      failed: 0,
      redone: 0,
      resumeCostBound: 2,
    });
    expect(finished.id).toMatch(/^tells-finished\/notify\/.+\/\d+-finished$/);
    expect((await env.client.workflow.getHandle(finished.id).describe()).type).toBe('notifyWorkflow');
  });

  it('tells finished with failures, failed (failure tolerance) and cancelled, each once', async () => {
    const withFailures = await withBatch(fakeActivities(30, { failEvery: 7 }), 'tells-failures', spec(), (handle) => handle.result());
    expect(withFailures).toEqual([expect.objectContaining({ name: 'finished-with-failures', succeeded: 25, failed: 5 })]);

    const failed = await withBatch(
      fakeActivities(30, { failEvery: 7 }),
      'tells-failed',
      spec({ toleratedFailureCount: 1, concurrency: 1, heartbeatTimeoutMs: 5000 }),
      async (handle) => expect(await handle.result().catch((e: unknown) => e)).toBeInstanceOf(WorkflowFailedError),
    );
    expect(failed).toEqual([expect.objectContaining({ name: 'failed' })]);
    expect(failed[0].reason).toMatch(/^failure tolerance exceeded: /);

    // C = 16: two slices of 8 lanes in flight.
    const cancelled = await withBatch(
      fakeActivities(30, { gateFrom: 0 }),
      'tells-cancelled',
      spec({ concurrency: 16 }),
      async (handle, progress) => {
        await waitFor('slices in flight', async () => (await progress()).slicesInFlight === 2);
        await handle.cancel();
        await handle.result().catch(() => undefined);
      },
    );
    expect(cancelled).toEqual([expect.objectContaining({ name: 'cancelled', total: 30 })]);
  });

  it('tells budget reached once though two slices find it, then resumed on the first commit after configure --budget', async () => {
    const fake = fakeActivities(40, { budgetAt: [3, 14] });
    // C = 16: two slices of 8 lanes in flight, each of which finds the budget.
    const input = spec({ checkpointEvery: 40, concurrency: 16, budget: { unit: 'tokens', max: 100 } });
    const events = await withBatch(
      fake,
      'tells-budget',
      input,
      async (handle, progress) => {
        await waitFor('the budget pause', async () => (await progress()).state === 'budget-reached');
        await waitFor('budget reached to be told', () => fake.record.notifications.length === 1);
        await handle.executeUpdate(configureUpdate, { args: [{ budget: 1000 }] });
        await handle.result();
      },
      3,
    );
    expect(events.map((e) => e.name)).toEqual(['budget-reached', 'resumed', 'finished']);
    expect(events[0]).toMatchObject({ budget: { unit: 'tokens', max: 100 } });
    expect(events[0].state).toMatch(/^budget reached/);
    expect(events[1]).toMatchObject({ resumedFrom: 'budget-reached' });
  });

  it('tells a quota wait announced past quotaWaitMs with its end, then resumed', async () => {
    const long = fakeActivities(40, { quotaOnceAt: 12, quotaMs: 30 * MINUTE, quotaOn: { heldOn: 'openai' } });
    const events = await withBatch(long, 'tells-quota', spec({ checkpointEvery: 40 }), (handle) => handle.result(), 3);
    expect(events.map((e) => e.name)).toEqual(['quota-wait', 'resumed', 'finished']);
    expect(events[0]).toMatchObject({ waitingOn: 'openai' });
    expect(events[0].until! - events[0].at).toBeGreaterThanOrEqual(30 * MINUTE - 1000);
    expect(events[1]).toMatchObject({ resumedFrom: 'quota-wait' });
  });

  it('does not tell a quota wait shorter than quotaWaitMs', async () => {
    const short = fakeActivities(40, { quotaOnceAt: 12, quotaMs: 5 * MINUTE });
    const shortEvents = await withBatch(short, 'tells-short-quota', spec({ checkpointEvery: 40 }), (handle) => handle.result());
    expect(shortEvents.map((e) => e.name)).toEqual(['finished']);
  });

  it('a batch without notify starts no notification', async () => {
    const fake = fakeActivities(20, { quotaOnceAt: 3, quotaMs: 30 * MINUTE });
    await expect(withBatch(fake, 'tells-nothing', spec({ notify: undefined }), (handle) => handle.result(), 1)).rejects.toThrow(
      /Timed out .* waiting for 1 notification/,
    );
    expect(fake.record.notifications).toHaveLength(0);
  });
});
