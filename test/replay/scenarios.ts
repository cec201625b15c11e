/**
 * The representative batches whose histories are kept as replay fixtures: one per workflow
 * path that a running batch can be on when a new version of the workflow code is deployed.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { fakeActivities, type FakeOptions } from '../helpers/fake-activities';
import { waitFor } from '../helpers/wait-for';

export interface Scenario {
  name: string;
  items: number;
  fake: FakeOptions;
  spec: Partial<BatchSpecInput>;
  /** Steers the running batch (signals, updates, cancel) and waits for its end. */
  drive(handle: WorkflowHandle<typeof batchWorkflow>, release: () => void, client: Client): Promise<unknown>;
}

const ends = (handle: WorkflowHandle<typeof batchWorkflow>) => handle.result().catch(() => undefined);
const inFlight = (handle: WorkflowHandle<typeof batchWorkflow>, n: number) =>
  waitFor(`${n} slices in flight`, async () => (await handle.query(progressQuery)).slicesInFlight === n);

export const SCENARIOS: Scenario[] = [
  { name: 'continue-as-new', items: 237, fake: {}, spec: {}, drive: ends },
  { name: 'failures', items: 120, fake: { failEvery: 7 }, spec: {}, drive: ends },
  { name: 'failure-tolerance', items: 100, fake: { failEvery: 2 }, spec: { toleratedFailureCount: 12, concurrency: 1 }, drive: ends },
  { name: 'quota-wait', items: 40, fake: { quotaOnceAt: 15, quotaMs: 3_600_000 }, spec: { concurrency: 1 }, drive: ends },
  {
    name: 'pause-resume',
    items: 50,
    fake: { gateFrom: 0 },
    spec: {},
    async drive(handle, release) {
      await inFlight(handle, 2);
      await handle.signal(pauseSignal);
      await waitFor('the pause', async () => (await handle.query(progressQuery)).state === 'paused');
      release();
      await handle.signal(resumeSignal);
      return ends(handle);
    },
  },
  {
    name: 'configure',
    items: 100,
    fake: { gateFrom: 0 },
    spec: { concurrency: 1 },
    async drive(handle, release) {
      await inFlight(handle, 1);
      await handle.executeUpdate(configureUpdate, { args: [{ concurrency: 3, sliceSize: 25 }] });
      release();
      return ends(handle);
    },
  },
  {
    name: 'cancel',
    items: 50,
    fake: { gateFrom: 0 },
    spec: {},
    async drive(handle) {
      await inFlight(handle, 2);
      await handle.cancel();
      return ends(handle);
    },
  },
  // Recorded with lanes in slices (INVARIANTS.md I15): C = 16, two slices of 8 lanes at a time.
  { name: 'lanes-continue-as-new', items: 237, fake: { failEvery: 7 }, spec: { concurrency: 16 }, drive: ends },
  { name: 'lanes-lend', items: 40, fake: { slowAt: 33 }, spec: { concurrency: 16, checkpointEvery: 40 }, drive: ends },
  { name: 'lanes-quota-wait', items: 40, fake: { quotaOnceAt: 15, quotaMs: 3_600_000 }, spec: { concurrency: 16 }, drive: ends },
  {
    name: 'lanes-pause-resume',
    items: 50,
    fake: { gateFrom: 0 },
    spec: { concurrency: 16 },
    async drive(handle, release) {
      await inFlight(handle, 2);
      await handle.signal(pauseSignal);
      await waitFor('the pause', async () => {
        const p = await handle.query(progressQuery);
        return p.state === 'paused' && p.slicesInFlight === 0;
      });
      release();
      await handle.signal(resumeSignal);
      return ends(handle);
    },
  },
  {
    name: 'lanes-configure',
    items: 100,
    fake: { gateFrom: 0 },
    spec: { concurrency: 4 },
    async drive(handle, release) {
      await inFlight(handle, 1);
      await handle.executeUpdate(configureUpdate, { args: [{ concurrency: 16 }] });
      await inFlight(handle, 2);
      release();
      return ends(handle);
    },
  },
  {
    name: 'lanes-cancel',
    items: 50,
    fake: { gateFrom: 0 },
    spec: { concurrency: 16 },
    async drive(handle) {
      await inFlight(handle, 2);
      await handle.cancel();
      return ends(handle);
    },
  },
  // Adaptive lanes: slices run for MAX (16, then 32 after configure) and the lanes they report,
  // with a cut, are shown; configure's new MAX cuts the window's tail again.
  {
    name: 'lanes-adaptive',
    items: 100,
    fake: {
      gateFrom: 0,
      adaptiveLanes: { batchLanes: 6, poolLanes: 6, cuts: 1, lastCut: { at: 1_765_000_000_000, from: 8, to: 6, cause: 'http 429' } },
    },
    spec: { concurrency: { auto: { min: 1, max: 16 } } },
    async drive(handle, release) {
      await inFlight(handle, 2);
      await handle.executeUpdate(configureUpdate, { args: [{ concurrency: { auto: { min: 2, max: 32 } } }] });
      release();
      return ends(handle);
    },
  },
];

export function scenarioSpec(s: Scenario): BatchSpecInput {
  return {
    source: { kind: 'text', path: '/data/items.txt' },
    processor: { name: 'noop' },
    sliceSize: 10,
    checkpointEvery: 50,
    concurrency: 2,
    heartbeatTimeoutMs: 1000,
    ...s.spec,
  };
}

export { fakeActivities };
