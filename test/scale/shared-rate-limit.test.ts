/**
 * I13 across processes: three worker processes on one PostgreSQL ledger, each with a data dir of
 * its own as on separate machines, run two http batches that name one rate limit (60 a second,
 * burst 6, so workers take tokens in blocks) against a loopback API whose own quota is 70
 * requests a second. Only the ledger is shared, and it keeps the three workers and the two
 * batches together under the API's quota at >= 90% of the limit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { allOutcomes } from '../helpers/ledger-rows';

const TASK_QUEUE = 'shared-rate-limit';
const ITEMS_PER_BATCH = 300;
const LIMIT = 60;
const BURST = 6;
const API_CAPACITY = 70;

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
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
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
    workers.push(...(await Promise.all([workerEnv(), workerEnv(), workerEnv()].map((e) => startWorkerProcess(e)))));

    const specFor = (name: string) => {
      const file = path.join(sources, `${name}.jsonl`);
      fs.writeFileSync(file, Array.from({ length: ITEMS_PER_BATCH }, (_, i) => JSON.stringify({ id: `${name} ${i}` })).join('\n') + '\n');
      return validateSpecForStart({
        source: { kind: 'jsonl', path: file },
        processor: { name: 'http', options: { url: `${api!.url}/enrich/{id}`, timeoutMs: 5000 } },
        sliceSize: 25,
        checkpointEvery: ITEMS_PER_BATCH,
        concurrency: 6,
        rateLimit: { key: 'enrich-api', limit: LIMIT, per: 'second', burst: BURST },
      });
    };
    const handles = await Promise.all(['north', 'south'].map((name) => startBatch(env.client, specFor(name), name, TASK_QUEUE)));
    const summaries = await Promise.all(handles.map((h) => h.result()));

    for (const summary of summaries) expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS_PER_BATCH, failed: 0 });
    for (const batchId of ['north', 'south']) {
      expect((await allOutcomes(ledger, batchId)).every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    }
    const answered = api.requests;
    expect(answered.filter((r) => r.status !== 200)).toEqual([]);
    expect(answered).toHaveLength(2 * ITEMS_PER_BATCH);
    // One key in the ledger, at the rate both batches declared.
    const [key] = await ledger.rateLimits();
    expect(key).toMatchObject({ key: 'enrich-api', rate: { limit: LIMIT, periodMs: 1000, burst: BURST } });

    const at = answered.map((r) => r.at).sort((a, b) => a - b);
    let first = 0;
    let most = 0;
    for (let last = 0; last < at.length; last++) {
      while (at[last] - at[first] >= 1000) first++;
      most = Math.max(most, last - first + 1);
    }
    expect(most).toBeLessThanOrEqual(API_CAPACITY);
    const steady = at.filter((t) => t >= at[0] + 1000);
    const rate = (steady.length - 1) / ((steady[steady.length - 1] - steady[0]) / 1000);
    expect(rate).toBeGreaterThanOrEqual(0.9 * LIMIT);
    console.log(
      `shared rate limit, 3 worker processes, 2 batches: ${at.length} requests in ${at[at.length - 1] - at[0]} ms, 0 answered 429, ` +
        `${rate.toFixed(1)} a second after the first (limit ${LIMIT}, burst ${BURST}), at most ${most} in any second`,
    );
  });
});
