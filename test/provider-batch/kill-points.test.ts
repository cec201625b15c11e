/**
 * I17, submitted once whatever happens: a worker process SIGKILLed at each point of a provider
 * job's life (before the upload, between upload and create, between create and recording the
 * job, while polling, while reading results) against the loopback fakes of both APIs. The fake
 * cuts the call off where the test kills the worker; another worker takes the slice over. Then
 * every item has one outcome, and the fake created exactly one job holding each item: none was
 * submitted twice, none lost.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import path from 'node:path';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { BatchFakeOptions, FakeInterrupt } from '../../tools/support/batch-fake-core';
import { startOpenAiBatchFake } from '../../tools/support/openai-batch-fake';
import { startAnthropicBatchFake } from '../../tools/support/anthropic-batch-fake';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { allOutcomes } from '../helpers/ledger-rows';
import { startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { FAKE_KEY, KEY_ENV, echoOf, jobsPerItem, providerSpec, writeItems, type Provider } from '../helpers/provider-batch';

const TASK_QUEUE = 'provider-kill-points';
const ITEMS = 200;

interface KillPoint {
  provider: Provider;
  name: string;
  at: Omit<FakeInterrupt, 'then'>;
}

const KILL_POINTS: KillPoint[] = [
  { provider: 'openai', name: 'before the upload', at: { route: 'upload', when: 'before' } },
  { provider: 'openai', name: 'between upload and create', at: { route: 'create', when: 'before' } },
  { provider: 'openai', name: 'between create and recording the job', at: { route: 'create', when: 'after' } },
  { provider: 'openai', name: 'while polling', at: { route: 'poll', when: 'after', nth: 2 } },
  { provider: 'openai', name: 'while reading results', at: { route: 'results', when: 'midway' } },
  // Message Batches take the requests with the create: there is no upload.
  { provider: 'anthropic', name: 'before the create', at: { route: 'create', when: 'before' } },
  { provider: 'anthropic', name: 'between create and recording the job', at: { route: 'create', when: 'after' } },
  { provider: 'anthropic', name: 'while polling', at: { route: 'poll', when: 'after', nth: 2 } },
  { provider: 'anthropic', name: 'while reading results', at: { route: 'results', when: 'midway' } },
];

describe('a worker SIGKILLed at each point of a provider job', () => {
  let env: TestWorkflowEnvironment;
  let ledger: SqliteLedger;
  let dir: string;
  const workers: WorkerProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    dir = makeTempDir('waymark-provider-kill-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    await stopLeftWorkers(workers);
    await Promise.all(closers.map((close) => close()));
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  const startWorker = async () => {
    const worker = await startWorkerProcess({
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: TASK_QUEUE,
      [KEY_ENV.openai]: FAKE_KEY,
      [KEY_ENV.anthropic]: FAKE_KEY,
    });
    workers.push(worker);
    return worker;
  };

  it.each(KILL_POINTS.map((k) => [`${k.provider}: ${k.name}`, k] as const))(
    '%s: one job per item, every item one outcome',
    async (_, point) => {
      let worker = await startWorker();
      let killed!: () => void;
      const wasKilled = new Promise<void>((resolve) => (killed = resolve));
      const interrupt: FakeInterrupt = {
        ...point.at,
        then: () => {
          worker.kill('SIGKILL');
          killed();
        },
      };
      const options: BatchFakeOptions = { processingMs: 1500, apiKey: FAKE_KEY, interrupt };
      const fake = point.provider === 'openai' ? await startOpenAiBatchFake(options) : await startAnthropicBatchFake(options);
      closers.push(() => fake.close());
      const batchId = `kill-${point.provider}-${point.at.route}-${point.at.when}`;
      const file = writeItems(dir, `${batchId}.jsonl`, ITEMS);
      const spec = validateSpecForStart(
        providerSpec(point.provider, fake.baseUrl, file, { sliceSize: 100, concurrency: 2, heartbeatTimeoutMs: 2000 }),
      );
      const handle = await startBatch(env.client, spec, batchId, TASK_QUEUE);

      await wasKilled;
      await worker.exited;
      worker = await startWorker();
      const summary = await handle.result();

      expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0, pending: 0 });
      const rows = await allOutcomes(ledger, batchId);
      expect(rows.map((r) => [r.index, r.status, r.attempts])).toEqual(Array.from({ length: ITEMS }, (_, i) => [i, 'succeeded', 1]));
      const answer = (r: (typeof rows)[number]) =>
        point.provider === 'openai'
          ? (r.result as { choices: { message: { content: string } }[] }).choices[0].message.content
          : (r.result as { content: { text: string }[] }).content[0].text;
      for (const row of rows) expect(answer(row)).toBe(echoOf(row.index));
      // The promise: the fake created exactly one job holding each item.
      expect(jobsPerItem(fake.core, batchId, ITEMS)).toEqual(Array(ITEMS).fill(1));
      expect(fake.core.jobs).toHaveLength(2);
      await worker.stop(30_000);
    },
    180_000,
  );
});
