/**
 * One waymark batch on the dev server with an in-process worker and a ledger of its own, timed
 * from the start request to the workflow's result (planning, counting and finalize included).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteLedger } from '../src/ledger/sqlite-ledger';
import { startBatch, validateSpecForStart } from '../src/cli/start-batch';
import type { BatchSpecInput } from '../src/contract/batch-spec';
import type { BenchEnv } from './bench-env';
import { createBenchWorker, type WorkerTuning } from './bench-worker';
import { historyStats } from './history';
import type { Throughput } from './throughput';

export interface WaymarkRunOptions {
  file: string;
  items: number;
  processor: string;
  options?: Record<string, unknown>;
  /** S, N, C, k and the rest; unset fields take waymark's defaults. */
  spec?: Omit<BatchSpecInput, 'source' | 'processor'>;
  worker?: WorkerTuning;
  /** Also return when each item started, from the ledger. */
  startTimes?: boolean;
}

export interface WaymarkRun extends Throughput {
  batchId: string;
  runs: number;
  eventsPerRun: number[];
  events: number;
  eventsPerItem: number;
  slices: number;
  /** Slices that needed more than one attempt (none expected in a healthy run). */
  retriedSlices: number;
  /** When each item started (epoch ms), if asked for. */
  startTimes?: number[];
}

let batches = 0;

export async function runWaymarkBatch(env: BenchEnv, opts: WaymarkRunOptions): Promise<WaymarkRun> {
  const batchId = `wm-${opts.processor}-${process.pid}-${++batches}-${Math.random().toString(36).slice(2, 8)}`;
  const taskQueue = `bench-${batchId}`;
  const ledgerFile = path.join(env.dir, `${batchId}.ledger.sqlite`);
  const ledger = new SqliteLedger(ledgerFile);
  try {
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: opts.file },
      processor: { name: opts.processor, ...(opts.options ? { options: opts.options } : {}) },
      ...opts.spec,
    });
    const worker = await createBenchWorker(env, ledger, taskQueue, opts.worker);
    let seconds = 0;
    let summary: { succeeded: number; failed: number; runs: number } | undefined;
    await worker.runUntil(async () => {
      const t0 = performance.now();
      const handle = await startBatch(env.client, spec, batchId, taskQueue);
      summary = await handle.result();
      seconds = (performance.now() - t0) / 1000;
    });
    if (!summary || summary.succeeded + summary.failed !== opts.items) {
      throw new Error(`batch ${batchId} processed ${summary ? summary.succeeded + summary.failed : 0} items, expected ${opts.items}`);
    }
    const stats = await historyStats(env.client, batchId, 'processSlice');
    let startTimes: number[] | undefined;
    if (opts.startTimes) {
      startTimes = [];
      for await (const row of ledger.outcomes(batchId)) startTimes.push(row.startedAt);
    }
    return {
      batchId,
      items: opts.items,
      seconds,
      itemsPerSecond: opts.items / seconds,
      runs: summary.runs,
      eventsPerRun: stats.eventsPerRun,
      events: stats.events,
      eventsPerItem: stats.events / opts.items,
      slices: stats.activities,
      retriedSlices: stats.retriedActivities,
      ...(startTimes ? { startTimes } : {}),
    };
  } finally {
    await ledger.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(ledgerFile + suffix, { force: true });
  }
}
