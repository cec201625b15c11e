/**
 * I13 and I5 together: a worker process SIGKILLed while its slices wait for a named rate limit's
 * tokens, and another while a quota signal from the API holds the key. The limit and the hold
 * live in the ledger, so the worker that takes over keeps to them: the API sees no more than the
 * limit allows and nothing during the hold, every item ends with one outcome, and what ran twice
 * is at most the bound C x k.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';
import { allOutcomes } from '../helpers/ledger-rows';
import { mostInAnyWindow } from '../../tools/support/rate-windows';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { resumeCostBound } from '../../src/contract/batch-spec';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';

const TASK_QUEUE = 'rate-limit-kill';
const ITEMS = 60;
const LIMIT = 4;
const CONCURRENCY = 4;
const HOLD_S = 4;

describe('a worker SIGKILLed while paced by a rate limit, and while a quota signal holds its key', () => {
  let env: TestWorkflowEnvironment;
  let api: QuotaApi;
  let ledger: SqliteLedger;
  let dir: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    api = await startQuotaApi();
    dir = makeTempDir('waymark-rate-limit-kill-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    await stopLeftWorkers(workers);
    await api?.close();
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  const startWorker = async () => {
    const worker = await startWorkerProcess({ TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: dir, WAYMARK_TASK_QUEUE: TASK_QUEUE });
    workers.push(worker);
    return worker;
  };

  const killWorker = async (worker: WorkerProcess) => {
    worker.child.kill('SIGKILL');
    await worker.exited;
  };

  function specFor(batchId: string, key: string) {
    const file = path.join(dir, `${batchId}.jsonl`);
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => JSON.stringify({ id: `${batchId}-${i}` })).join('\n') + '\n');
    return validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'http', options: { url: `${api.url}/enrich/{id}`, timeoutMs: 5000 } },
      sliceSize: 10,
      checkpointEvery: ITEMS,
      concurrency: CONCURRENCY,
      // A dead worker's slices go to the next one within seconds.
      heartbeatTimeoutMs: 2000,
      rateLimit: { key, limit: LIMIT, per: 'second' },
    });
  }

  /** Each item one outcome, succeeded on its first attempt; each id asked of the API at most twice, at most the bound of them twice. */
  async function expectExactlyOnce(batchId: string, bound: number): Promise<number> {
    const rows = await allOutcomes(ledger, batchId);
    expect(rows.map((r) => [r.index, r.status, r.attempts])).toEqual(Array.from({ length: ITEMS }, (_, i) => [i, 'succeeded', 1]));
    const asked = new Map<string, number>();
    for (const r of api.requests.filter((q) => q.path.startsWith(`/enrich/${batchId}-`) && q.status === 200)) {
      asked.set(r.path, (asked.get(r.path) ?? 0) + 1);
    }
    expect(asked.size).toBe(ITEMS);
    const twice = [...asked.values()].filter((n) => n > 1);
    expect(twice.every((n) => n === 2)).toBe(true);
    expect(twice.length).toBeLessThanOrEqual(bound);
    return twice.length;
  }

  it('killed while paced: the next worker keeps to the limit, and redoes at most the bound', async () => {
    const first = await startWorker();
    const spec = specFor('paced', 'kill-paced');
    const bound = resumeCostBound(spec);
    const handle = await startBatch(env.client, spec, 'paced', TASK_QUEUE);
    // At 4 a second on 4 lanes, every lane waits for a token most of the time.
    await waitFor('a quarter of the batch committed', async () => (await ledger.totals('paced')).succeeded >= ITEMS / 4, 60_000);
    await killWorker(first);
    await startWorker();
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS, failed: 0 });
    const redone = await expectExactlyOnce('paced', bound);
    expect(summary.redone).toBeLessThanOrEqual(bound);
    // Before and after the kill, one bucket in the ledger: the API never saw more than the limit
    // in a second, but for the lanes' requests in flight as a second turns.
    const at = api.requests.filter((r) => r.path.startsWith('/enrich/paced-')).map((r) => r.at);
    expect(mostInAnyWindow(at, 1000)).toBeLessThanOrEqual(LIMIT + CONCURRENCY);
    console.log(
      `killed while paced: redone ${redone} (reported ${summary.redone}, bound ${bound}), at most ${mostInAnyWindow(at, 1000)} requests in a second`,
    );
  }, 120_000);

  it('killed while a 429 holds the key: the next worker waits out the hold, and redoes at most the bound', async () => {
    const spec = specFor('held', 'kill-held');
    const bound = resumeCostBound(spec);
    const handle = await startBatch(env.client, spec, 'held', TASK_QUEUE);
    await waitFor('a quarter of the batch committed', async () => (await ledger.totals('held')).succeeded >= ITEMS / 4, 60_000);
    // The API's next answer: its quota is spent for HOLD_S seconds.
    api.script.push({ status: 429, headers: { 'Retry-After': String(HOLD_S) } });
    await waitFor('the key held', async () => (await ledger.rateLimits()).some((k) => k.key === 'kill-held' && k.heldUntil !== undefined));
    const refusedAt = api.requests.find((r) => r.status === 429)!.at;
    await killWorker(workers[workers.length - 1]);
    await startWorker();
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS, failed: 0 });
    const redone = await expectExactlyOnce('held', bound);
    expect(summary.redone).toBeLessThanOrEqual(bound);
    // Nothing reached the API while the hold lasted, from the dead worker or the new one.
    const during = api.requests.filter(
      (r) => r.path.startsWith('/enrich/held-') && r.at > refusedAt && r.at < refusedAt + HOLD_S * 1000 - 100,
    );
    expect(during).toEqual([]);
    console.log(`killed while held: redone ${redone} (reported ${summary.redone}, bound ${bound})`);
  }, 120_000);
});
