/**
 * (e) Scaling: one batch on 1, 2, 3... `waymark worker` processes (the CLI) serving one task
 * queue and sharing a PostgreSQL ledger, the topology of workers on many machines, here on one;
 * and the ledger's own commit rate, SQLite file against PostgreSQL, with no Temporal. C, S and N
 * stay fixed, so the figures show what more processes add, not what more slices in flight add.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { DEFAULTS } from '../../src/contract/batch-spec';
import type { BenchEnv } from '../bench-env';
import type { BenchPostgres } from '../bench-postgres';
import { historyStats } from '../history';
import { itemsFile } from '../items-file';
import { commitRateOf, ledgerCommitRate, type LedgerRate, type LedgerShape } from '../ledger-rate';
import { log } from '../log';
import type { BenchPlan, ScalingSpec } from '../plan';
import type { Throughput } from '../throughput';
import { startWorkerProcess, type BenchWorkerProcess } from '../worker-process';

export interface ScalingRun extends Throughput {
  workers: number;
  /** Share of the machine's CPU time (all cores) that was busy during the batch, by any process. */
  cpuBusy: number;
  eventsPerRun: number[];
  /** Slices whose completing attempt was not their first: a worker timed out or failed them. */
  retriedSlices: number;
}

export interface ScalingCase {
  label: string;
  commitGroup: number;
  /** Every run of every worker count, in the order they ran. */
  runs: ScalingRun[];
}

export interface LedgerRateRow {
  ledger: string;
  commitGroup: number;
  rate: LedgerRate;
}

export interface ScalingResult {
  items: number;
  spec: ScalingSpec;
  workerCounts: number[];
  runsPerCount: number;
  cases: ScalingCase[];
  /** Lanes and slice size of the ledger's commit rate (its `items` are in each row). */
  ledgerShape: Pick<LedgerShape, 'concurrency' | 'sliceSize'>;
  ledger: LedgerRateRow[];
}

const CASES = [
  { label: 'noop', processor: 'noop', commitGroup: 1 },
  { label: 'sleep 1 ms', processor: 'sleep', options: { ms: 1 }, commitGroup: 1 },
  // The same noop batch with 100 outcomes per ledger statement: what the ledger's commit rate costs at k = 1.
  { label: 'noop', processor: 'noop', commitGroup: 100 },
];

/** CPU time of the whole machine so far, all cores, in ms. */
function cpuTimes(): { busy: number; idle: number } {
  let busy = 0;
  let idle = 0;
  for (const { times } of os.cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    idle += times.idle;
  }
  return { busy, idle };
}

/** All or none: a worker that fails to start must not leave the others running. */
async function startWorkers(env: BenchEnv, dataDirs: string[], taskQueue: string, ledgerUrl: string): Promise<BenchWorkerProcess[]> {
  const started = await Promise.allSettled(
    dataDirs.map((dataDir) => {
      fs.mkdirSync(dataDir, { recursive: true });
      return startWorkerProcess({
        address: env.server.address,
        dataDir,
        taskQueue,
        logFile: path.join(dataDir, 'worker.log'),
        env: { WAYMARK_LEDGER_URL: ledgerUrl },
      });
    }),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(workers.map((w) => w.stop()));
    throw failed.reason;
  }
  return workers;
}

let batches = 0;

async function runOnWorkers(
  env: BenchEnv,
  pg: BenchPostgres,
  file: string,
  opts: { items: number; spec: ScalingSpec; workers: number; setup: (typeof CASES)[number] },
): Promise<ScalingRun> {
  const { setup: c, items, workers: count } = opts;
  const batchId = `scaling-${c.processor}-k${c.commitGroup}-w${count}-${process.pid}-${++batches}`;
  // A data dir each, as on machines of their own; only the ledger is shared.
  const dataDirs = Array.from({ length: count }, (_, i) => path.join(env.dir, `${batchId}-worker-${i}`));
  return pg.inFreshSchema(async (ledgerUrl) => {
    const workers = await startWorkers(env, dataDirs, batchId, ledgerUrl);
    try {
      const spec = validateSpecForStart({
        source: { kind: 'jsonl', path: file },
        processor: { name: c.processor, ...(c.options ? { options: c.options } : {}) },
        ...opts.spec,
        commitGroup: c.commitGroup,
      });
      const cpu0 = cpuTimes();
      const t0 = performance.now();
      const summary = await (await startBatch(env.client, spec, batchId, batchId)).result();
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = cpuTimes();
      if (summary.succeeded !== items) throw new Error(`batch ${batchId} ended with ${summary.succeeded} of ${items} items succeeded`);
      const busy = cpu1.busy - cpu0.busy;
      const stats = await historyStats(env.client, batchId, 'processSlice');
      return {
        workers: count,
        items,
        seconds,
        itemsPerSecond: items / seconds,
        cpuBusy: busy / (busy + cpu1.idle - cpu0.idle),
        eventsPerRun: stats.eventsPerRun,
        retriedSlices: stats.retriedActivities,
      };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      for (const dataDir of dataDirs) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

async function postgresCommitRate(pg: BenchPostgres, shape: LedgerShape): Promise<LedgerRate> {
  return pg.inFreshSchema(async (url) => {
    const ledger = await PostgresLedger.connect(url);
    try {
      return await commitRateOf(ledger, shape);
    } finally {
      await ledger.close();
    }
  });
}

export async function measureScaling(env: BenchEnv, pg: BenchPostgres, opts: NonNullable<BenchPlan['scaling']>): Promise<ScalingResult> {
  const file = itemsFile(env.dir, opts.items);
  const cases: ScalingCase[] = [];
  for (const c of CASES) {
    const runs: ScalingRun[] = [];
    // Runs go round the worker counts, so a stretch of load from elsewhere hits every count alike.
    for (let r = 0; r < opts.runs; r++) {
      for (const workers of opts.workerCounts) {
        const run = await runOnWorkers(env, pg, file, { items: opts.items, spec: opts.spec, workers, setup: c });
        log(
          `  ${c.label} k=${c.commitGroup}, ${workers} worker(s): ${run.itemsPerSecond.toFixed(0)}/s, CPU busy ${(run.cpuBusy * 100).toFixed(0)} %`,
        );
        runs.push(run);
      }
    }
    cases.push({ label: c.label, commitGroup: c.commitGroup, runs });
  }

  // waymark's default C as lanes: the commits one worker makes at the defaults.
  const ledgerShape = { concurrency: DEFAULTS.concurrency, sliceSize: opts.spec.sliceSize };
  const ledger: LedgerRateRow[] = [];
  for (const commitGroup of [1, 100]) {
    const shape = { ...ledgerShape, commitGroup, items: commitGroup === 1 ? opts.ledgerItems : opts.ledgerItems * 10 };
    const rates: Array<[string, () => Promise<LedgerRate>]> = [
      ['SQLite file (WAL, synchronous=NORMAL)', () => ledgerCommitRate(env.dir, shape)],
      [pg.description, () => postgresCommitRate(pg, shape)],
    ];
    for (const [name, measure] of rates) {
      const rate = await measure();
      log(`  ${name}, k=${commitGroup}: ${(rate.commits / rate.seconds).toFixed(0)} commits/s, ${rate.itemsPerSecond.toFixed(0)} items/s`);
      ledger.push({ ledger: name, commitGroup, rate });
    }
  }
  return { items: opts.items, spec: opts.spec, workerCounts: opts.workerCounts, runsPerCount: opts.runs, cases, ledgerShape, ledger };
}
