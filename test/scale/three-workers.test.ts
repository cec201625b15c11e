/**
 * waymark as a cluster runs it: three worker processes on one task queue, one PostgreSQL ledger,
 * and a postgres-table source, so no worker reads a file another wrote. They share one batch, each
 * slice run by whichever worker took it; one of them is SIGKILLed mid-batch and the other two
 * finish its slices once the heartbeat timeout has passed, losing and duplicating nothing and
 * redoing only the items it had in flight, at most the bound.
 *
 * Needs WAYMARK_TEST_PG_URL (`eval "$(scripts/postgres.sh start)"`); skipped without it, failed
 * without it under CI=true. The workers run the build (`npm test` builds first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { startBatch } from '../../src/cli/start-batch';
import { parseBatchSpec, resumeCostBound } from '../../src/contract/batch-spec';
import { CHAOS_LOG_ENV, CHAOS_PROCESSOR_NAME, chaosResult } from '../../tools/chaos/chaos-processor';
import { readExecutionLog } from '../../tools/chaos/execution-log';
import { allOutcomes } from '../helpers/ledger-rows';

const CHAOS_PROCESSOR = path.resolve(__dirname, '../../dist/tools/chaos/chaos-processor.js');
const TASK_QUEUE = 'three-workers';
const BATCH_ID = 'three-workers';
const ITEMS = 6000;
const SLICE = 50;
const HEARTBEAT_TIMEOUT_MS = 2000;
/**
 * The earliest a dead worker's slice can start again after the kill: the SDK sends heartbeats at
 * most every 0.8 x the timeout, so the server may time the slice out 0.2 x the timeout after the
 * kill, and the retry then waits the slice retry policy's first interval (1 s).
 */
const EARLIEST_TAKEOVER_MS = 0.2 * HEARTBEAT_TIMEOUT_MS + 1000;

function groupBy<T, K>(list: T[], key: (t: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const t of list) {
    const group = groups.get(key(t));
    if (group) group.push(t);
    else groups.set(key(t), [t]);
  }
  return groups;
}

describeWithPostgres('three workers on one PostgreSQL ledger', () => {
  let env: TestWorkflowEnvironment;
  let db: PostgresTestDb;
  let ledger: PostgresLedger;
  let sourceDb: Pool;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    db = new PostgresTestDb(TEST_PG_URL!);
  });
  afterAll(async () => {
    await stopLeftWorkers(workers);
    await ledger?.close();
    await sourceDb?.end();
    await db?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('share one batch slice by slice; when one is SIGKILLed the others finish its slices, nothing lost or duplicated, redone <= the bound', async () => {
    // The ledger and the source table each in a schema of their own (both have tables named by waymark's or the user's choice).
    const ledgerUrl = await db.freshSchema();
    const sourceUrl = await db.freshSchema();
    ledger = await PostgresLedger.connect(ledgerUrl);
    sourceDb = new Pool({ connectionString: sourceUrl, max: 1 });
    await sourceDb.query('CREATE TABLE words (id bigint PRIMARY KEY, word text NOT NULL)');
    await sourceDb.query(`INSERT INTO words SELECT 10 * i + 7, 'word-' || i FROM generate_series(0, $1::int - 1) i`, [ITEMS]);
    const expected = Array.from({ length: ITEMS }, (_, i) => chaosResult(i, { id: 10 * i + 7, word: `word-${i}` }));

    // Each worker a data dir of its own, as on separate machines: only the databases are shared.
    // And one slice at a time (WAYMARK_WORKER_SLICES=1), as a worker sized for one: otherwise the
    // first to poll may take all three slices of a round and the others wait idle.
    const executionLog = path.join(makeTempDir('waymark-scale-'), 'executions.log');
    fs.writeFileSync(executionLog, '');
    const workerEnv = () => ({
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: makeTempDir('waymark-scale-worker-'),
      WAYMARK_TASK_QUEUE: TASK_QUEUE,
      WAYMARK_LEDGER_URL: ledgerUrl,
      WAYMARK_SOURCE_URL: sourceUrl,
      WAYMARK_PROCESSORS: CHAOS_PROCESSOR,
      WAYMARK_WORKER_SLICES: '1',
      [CHAOS_LOG_ENV]: executionLog,
    });
    workers.push(...(await Promise.all([workerEnv(), workerEnv(), workerEnv()].map((e) => startWorkerProcess(e)))));
    const pids = workers.map((w) => w.child.pid!);

    const spec = parseBatchSpec({
      source: { kind: 'postgres-table', path: 'words', keyColumn: 'id' },
      processor: { name: CHAOS_PROCESSOR_NAME, options: { ms: 20 } },
      sliceSize: SLICE,
      // 24 lanes run as three slices of 8 at once (lanes.ts), so all three workers have one to
      // take; a window of 1,200 is 8 rounds of them, and slice i holds items [50 i, 50 i + 50).
      checkpointEvery: 1200,
      concurrency: 24,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    const bound = resumeCostBound(spec);
    const handle = await startBatch(env.client, spec, BATCH_ID, TASK_QUEUE);

    // Kill once every worker has run items and about a third of the batch is committed. The
    // victim is the worker that started an item last, in the first part of a slice: it is
    // surely mid-slice, with items left for another worker to finish.
    let chosen: WorkerProcess | undefined;
    await waitFor(
      'all three workers to run items, a third of the batch committed, and a worker mid-slice',
      async () => {
        const log = readExecutionLog(executionLog);
        const ran = new Set(log.map((e) => e.pid));
        if (!pids.every((pid) => ran.has(pid)) || (await ledger.totals(BATCH_ID)).succeeded < ITEMS / 3) return false;
        const last = log[log.length - 1];
        chosen = last.index % SLICE < SLICE / 2 && Date.now() - last.at < 50 ? workers.find((w) => w.child.pid === last.pid) : undefined;
        return chosen !== undefined;
      },
      90_000,
    );
    const victim = chosen!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Nothing of the dead worker's can commit any more, and its slices are not retried before
    // the heartbeat timeout: what it ran without an outcome now is what it had in flight. That
    // may be nothing, when the kill caught it between an item's commit and the next item.
    const victimRan = readExecutionLog(executionLog).filter((e) => e.pid === victim.child.pid);
    const uncommitted = new Set(
      (
        await Promise.all(
          [...new Set(victimRan.map((e) => e.index))].map(async (i) =>
            (await ledger.committedIndexes(BATCH_ID, i, i + 1)).length ? [] : [i],
          ),
        )
      ).flat(),
    );
    const inFlightAtKill = [...uncommitted].sort((a, b) => a - b);
    expect(inFlightAtKill.length).toBeLessThanOrEqual(bound);

    const summary = await handle.result();
    const executions = readExecutionLog(executionLog);

    // Every item exactly once in the ledger, with the processor's result.
    const rows = await allOutcomes(ledger, BATCH_ID);
    expect(rows.map((r) => r.index)).toEqual(expected.map((_, i) => i));
    expect(rows.filter((r) => r.status !== 'succeeded' || r.result !== expected[r.index])).toEqual([]);
    expect(summary).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0, resumeCostBound: bound });

    // Each worker ran slices of its own; a slice ran on one worker, or on the killed one and then
    // survivors (more than one when idle lanes split the rest of it, I14).
    const survivors = pids.filter((pid) => pid !== victim.child.pid);
    const bySlice = groupBy(executions, (e) => Math.floor(e.index / SLICE));
    expect(bySlice.size).toBe(ITEMS / SLICE);
    const slicesOf = new Map(pids.map((pid) => [pid, 0]));
    const takenOver: number[] = [];
    for (const [slice, list] of bySlice) {
      const ran = [...new Set(list.map((e) => e.pid))];
      for (const pid of ran) slicesOf.set(pid, slicesOf.get(pid)! + 1);
      if (ran.includes(victim.child.pid!) && list.some((e) => e.pid !== victim.child.pid && e.at >= killedAt)) takenOver.push(slice);
    }
    for (const pid of pids) expect(slicesOf.get(pid)).toBeGreaterThan(0);
    // The victim was mid-slice, so at least that slice was taken over; every item it had in
    // flight ran again once, on a survivor, not before the heartbeat timeout let its slice go.
    expect(takenOver.length).toBeGreaterThan(0);
    const cutShort = new Set(inFlightAtKill.map((i) => Math.floor(i / SLICE)));
    expect(takenOver.filter((slice) => cutShort.has(slice))).toHaveLength(cutShort.size);
    for (const index of inFlightAtKill) {
      const again = executions.filter((e) => e.index === index && e.pid !== victim.child.pid);
      expect(again).toHaveLength(1);
      expect(survivors).toContain(again[0].pid);
      expect(again[0].at).toBeGreaterThanOrEqual(killedAt + EARLIEST_TAKEOVER_MS - 100);
      expect(again[0].at).toBeLessThan(killedAt + 30_000);
    }

    // Re-executed: only items in flight at the kill, at most the bound; waymark's count covers them.
    const runs = groupBy(executions, (e) => e.index);
    const redone = [...runs]
      .filter(([, list]) => list.length > 1)
      .map(([index]) => index)
      .sort((a, b) => a - b);
    expect([...runs.values()].every((list) => list.length <= 2)).toBe(true);
    expect(redone.every((index) => inFlightAtKill.includes(index))).toBe(true);
    expect(redone.length).toBeLessThanOrEqual(bound);
    expect(summary.redone).toBeGreaterThanOrEqual(redone.length);
    expect(summary.redone).toBeLessThanOrEqual(bound);
    console.log(
      `three workers: slices per worker ${pids.map((pid) => `${pid}${pid === victim.child.pid ? ' (killed)' : ''}: ${slicesOf.get(pid)}`).join(', ')}; ` +
        `in flight at the kill [${inFlightAtKill.join(', ')}], slices taken over ${takenOver.length}, ` +
        `re-executed [${redone.join(', ')}], reported redone ${summary.redone}, bound ${bound}`,
    );
  }, 240_000);
});
