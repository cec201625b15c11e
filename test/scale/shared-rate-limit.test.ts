/**
 * I13 across processes: three worker processes on one PostgreSQL ledger, each with a data dir of
 * its own as on separate machines, run two http batches that name one rate limit (100 a second,
 * burst 10, so workers take tokens in blocks; 12 s of it) against a loopback API whose own quota is the
 * limit + burst + the lanes in flight, 122 requests a second: a lane's request reaches the API a
 * little after its item took its token, so each lane can carry one request into the next second.
 * Only the ledger is shared, and it keeps the three workers and the two batches together under
 * the API's quota at >= 90% of the limit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { allOutcomes } from '../helpers/ledger-rows';
import { mostInAnyWindow, rateAfterFirstPeriod } from '../../tools/support/rate-windows';
import { sample } from '../helpers/prometheus';
import { findFreePort } from '../../tools/support/free-port';

const TASK_QUEUE = 'shared-rate-limit';
const ITEMS_PER_BATCH = 600;
const LIMIT = 100;
const BURST = 10;
const CONCURRENCY = 6;
const API_CAPACITY = LIMIT + BURST + 2 * CONCURRENCY;

describeWithPostgres('three worker processes and two batches sharing one rate limit on a PostgreSQL ledger', () => {
  let env: TestWorkflowEnvironment;
  let db: PostgresTestDb;
  let ledger: PostgresLedger | undefined;
  let api: QuotaApi | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    db = new PostgresTestDb(TEST_PG_URL!);
  });
  afterAll(async () => {
    await stopLeftWorkers(workers);
    await api?.close();
    await ledger?.close();
    await db?.dropSchemas();
    await db?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('meet no 429 and start items at >= 90% of the limit between them (I13)', async () => {
    const ledgerUrl = await db.freshSchema();
    ledger = await PostgresLedger.connect(ledgerUrl);
    api = await startQuotaApi({ capacity: API_CAPACITY, periodMs: 1000 });
    const sources = makeTempDir('waymark-shared-limit-');
    const workerEnv = () => ({
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: makeTempDir('waymark-shared-limit-worker-'),
      WAYMARK_TASK_QUEUE: TASK_QUEUE,
      WAYMARK_LEDGER_URL: ledgerUrl,
    });
    // Each worker serves its metrics, to count the waits for the key's tokens: with lanes in
    // slices two slices run at a time (one per batch), so which workers run them is the server's pick.
    const metricsPorts = await Promise.all([0, 1, 2].map(() => findFreePort()));
    workers.push(
      ...(await Promise.all(metricsPorts.map((port) => startWorkerProcess({ ...workerEnv(), WAYMARK_METRICS_PORT: `127.0.0.1:${port}` })))),
    );

    const specFor = (name: string) => {
      const file = path.join(sources, `${name}.jsonl`);
      fs.writeFileSync(file, Array.from({ length: ITEMS_PER_BATCH }, (_, i) => JSON.stringify({ id: `${name} ${i}` })).join('\n') + '\n');
      return validateSpecForStart({
        source: { kind: 'jsonl', path: file },
        processor: { name: 'http', options: { url: `${api!.url}/enrich/{id}`, timeoutMs: 5000 } },
        sliceSize: 25,
        checkpointEvery: ITEMS_PER_BATCH,
        concurrency: CONCURRENCY,
        rateLimit: { key: 'enrich-api', limit: LIMIT, per: 'second', burst: BURST },
      });
    };
    const handles = await Promise.all(['north', 'south'].map((name) => startBatch(env.client, specFor(name), name, TASK_QUEUE)));
    const summaries = await Promise.all(handles.map((h) => h.result()));

    const at = api.requests.map((r) => r.at);
    const refused = api.requests.filter((r) => r.status !== 200);
    const most = mostInAnyWindow(at, 1000);
    const rate = rateAfterFirstPeriod(at, 1000);
    console.log(
      `shared rate limit, 3 worker processes, 2 batches: ${at.length} requests in ${Math.max(...at) - Math.min(...at)} ms, ` +
        `${refused.length} answered 429, ${rate.toFixed(1)} a second after the first (limit ${LIMIT}, burst ${BURST}), ` +
        `at most ${most} in any second (API quota ${API_CAPACITY})`,
    );

    for (const summary of summaries) expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS_PER_BATCH, failed: 0 });
    for (const batchId of ['north', 'south']) {
      expect((await allOutcomes(ledger, batchId)).every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    }
    expect(refused).toEqual([]);
    expect(at).toHaveLength(2 * ITEMS_PER_BATCH);
    // One key in the ledger, at the rate both batches declared.
    const [key] = await ledger.rateLimits();
    expect(key).toMatchObject({ key: 'enrich-api', rate: { limit: LIMIT, periodMs: 1000, burst: BURST } });
    expect(most).toBeLessThanOrEqual(API_CAPACITY);
    expect(rate).toBeGreaterThanOrEqual(0.9 * LIMIT);
    // Twelve lanes at 100 a second wait for tokens all along; the metric says so, by key and reason.
    const metrics = await Promise.all(metricsPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
    const waits = (labels: Record<string, string>) =>
      metrics.reduce((sum, text) => sum + sample(text, 'waymark_rate_limit_waits', labels), 0);
    expect(waits({ key: 'enrich-api', reason: 'paced' })).toBeGreaterThan(0);
    expect(waits({ reason: 'held' })).toBe(0);
  });
});
