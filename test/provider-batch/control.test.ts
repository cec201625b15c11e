/**
 * A provider batch as its user sees and steers it, on the loopback fakes: status, `--wait` and
 * the Web UI show the items waiting to be sent, those at the provider with the jobs' ids and
 * states, and those done; a pause sends no new job while the jobs at the provider are still
 * collected; a cancel cancels the provider's jobs and keeps what they finished.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { pauseSignal, progressQuery, resumeSignal, type BatchProgress } from '../../src/contract/messages';
import { describeState } from '../../src/workflows/details';
import { providerJobsLine } from '../../src/workflows/provider-details';
import { startOpenAiBatchFake } from '../../tools/support/openai-batch-fake';
import { startAnthropicBatchFake } from '../../tools/support/anthropic-batch-fake';
import type { BatchFakeCore } from '../../tools/support/batch-fake-core';
import { devServerSuite } from '../helpers/dev-server-suite';
import { allOutcomes } from '../helpers/ledger-rows';
import { waitFor } from '../helpers/wait-for';
import { FAKE_KEY, KEY_ENV, jobsPerItem, providerSpec, writeItems, type Provider } from '../helpers/provider-batch';

const closers: (() => Promise<void>)[] = [];

describe('a provider batch as its user sees and steers it', () => {
  const suite = devServerSuite('waymark-provider-control-', { beforeTeardown: () => Promise.all(closers.map((close) => close())) });

  beforeAll(() => {
    for (const provider of ['openai', 'anthropic'] as const) process.env[KEY_ENV[provider]] = FAKE_KEY;
  });

  async function started(provider: Provider, batchId: string, items: number, processingMs: number) {
    const start = provider === 'openai' ? startOpenAiBatchFake : startAnthropicBatchFake;
    const fake = await start({ processingMs, apiKey: FAKE_KEY });
    closers.push(() => fake.close());
    const file = writeItems(suite.dir, `${batchId}.jsonl`, items);
    const spec = validateSpecForStart(providerSpec(provider, fake.baseUrl, file, { sliceSize: 100, concurrency: 2 }));
    const worker = await suite.worker(batchId);
    const handle = await startBatch(suite.env.client, spec, batchId, batchId);
    const progress = () => handle.query(progressQuery);
    return { fake: fake.core, worker, handle, progress };
  }

  /** Every job the fake holds shows in progress by its id, as running: it was created, recorded and polled. */
  const jobsShown = (fake: BatchFakeCore, p: BatchProgress) =>
    fake.jobs.length > 0 &&
    fake.jobs.every((job) => p.provider?.jobs.some((shown) => shown.id === job.id && shown.status === 'in_progress'));

  it('shows items waiting, at the provider by job id and state, and done; a pause sends nothing new but collects the jobs out', async () => {
    const { fake, worker, handle, progress } = await started('openai', 'openai-pause', 400, 3000);
    await worker.runUntil(async () => {
      await waitFor('jobs at the provider', async () => jobsShown(fake, await progress()));
      const p = await progress();
      const inJobs = fake.jobs.reduce((sum, job) => sum + job.requests.length, 0);
      // status and --wait (describeState), the jobs line of status and of the Web UI's details.
      expect(describeState(p)).toBe(`running: ${inJobs} at the provider in ${fake.jobs.length} jobs, ${400 - inJobs} waiting to be sent`);
      for (const job of fake.jobs) expect(providerJobsLine(p)).toContain(`${job.id} in_progress (${job.requests.length})`);
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain('provider jobs');
      for (const job of fake.jobs) expect(metadata.currentDetails).toContain(job.id);

      await handle.signal(pauseSignal);
      // The jobs at the provider when paused end and are collected; their items are done.
      await waitFor('jobs at the provider collected', async () => (await progress()).provider === undefined, 60_000);
      const sentBeforePause = fake.jobs.length;
      const collected = fake.jobs.reduce((sum, job) => sum + job.requests.length, 0);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const paused = await progress();
      expect(fake.jobs.length).toBe(sentBeforePause);
      expect(paused).toMatchObject({ state: 'paused', succeeded: collected, failed: 0 });
      expect(collected).toBeLessThan(400);

      await handle.signal(resumeSignal);
      expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 400, failed: 0, pending: 0 });
    });
    expect(jobsPerItem(fake, 'openai-pause', 400)).toEqual(Array(400).fill(1));
  }, 180_000);

  it('cancels the jobs at the provider and keeps what they finished', async () => {
    const { fake, worker, handle, progress } = await started('anthropic', 'anthropic-cancel', 200, 6000);
    await worker.runUntil(async () => {
      await waitFor('jobs at the provider', async () => jobsShown(fake, await progress()));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const sent = fake.jobs.length;
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(fake.jobs.length).toBe(sent);
    });
    // Each job was cancelled at the provider, ended with part of its requests run, and those are the batch's outcomes.
    expect(fake.jobs.every((job) => job.cancelAt !== undefined && job.ended?.status === 'cancelled')).toBe(true);
    const finished = fake.jobs.flatMap((job) => job.ended!.results.filter((r) => r.error === undefined).map((r) => r.customId));
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(200);
    const rows = await allOutcomes(suite.ledger, 'anthropic-cancel');
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    expect(rows.length).toBe(finished.length);
  }, 180_000);
});
