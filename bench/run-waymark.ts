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
import { actionCounts, actionsBetween, settledActions, type ActionCounts } from './actions';
import { ProgressReader } from '../src/cli/batch-progress';
import type { BatchSummary } from '../src/contract/messages';
import type { ManifestLanes } from '../src/contract/activity-io';

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
  /**
   * Count the Temporal Cloud actions the batch cost, with a watcher reading its progress every
   * 500 ms meanwhile as `waymark start --wait` does (with the ledger at hand, as on the same machine).
   */
  countActions?: boolean;
  /** Sample the process's resident memory and CPU time while the batch runs. */
  resources?: boolean;
}

export interface ProcessResources {
  /** The most resident memory seen, MiB. */
  maxRssMiB: number;
  /** CPU time over wall time: 1.0 is one core busy. */
  cpuShare: number;
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
  /** The actions the batch and its watcher cost, by type, if asked for. */
  actions?: ActionCounts;
  /** Heartbeats recorded per slice per minute of its running, if actions were counted. */
  heartbeatsPerSliceMinute?: number;
  resources?: ProcessResources;
  /** Adaptive lanes (`concurrency: auto`): the manifest's bounds, cuts and lanes over time. */
  lanes?: ManifestLanes;
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
    let summary: BatchSummary | undefined;
    const metricsUrl = env.server.metricsUrl;
    if (opts.countActions && !metricsUrl)
      throw new Error('the dev server named no metrics endpoint in its banner: actions cannot be counted');
    const before = opts.countActions ? await actionCounts(metricsUrl!) : undefined;
    const sampler = opts.resources ? sampleResources() : undefined;
    await worker.runUntil(async () => {
      const t0 = performance.now();
      const handle = await startBatch(env.client, spec, batchId, taskQueue);
      const watching = opts.countActions ? watch(new ProgressReader(handle, ledger)) : undefined;
      summary = await handle.result();
      seconds = (performance.now() - t0) / 1000;
      await watching?.stop();
    });
    const resources = sampler?.stop();
    const actions = before ? actionsBetween(before, await settledActions(metricsUrl!)) : undefined;
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
      ...(actions ? { actions, heartbeatsPerSliceMinute: (actions.RecordActivityTaskHeartbeat ?? 0) / stats.activityMinutes } : {}),
      ...(resources ? { resources } : {}),
      ...(summary.lanes ? { lanes: summary.lanes } : {}),
    };
  } finally {
    await ledger.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(ledgerFile + suffix, { force: true });
  }
}

/** Reads the batch's progress every 500 ms, as `waymark start --wait` does, until stopped. */
function watch(reader: ProgressReader): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await reader.read().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    stop() {
      stopped = true;
      return loop;
    },
  };
}

/** Samples this process's resident memory every 250 ms, and its CPU time from start to stop. */
function sampleResources(): { stop(): ProcessResources } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let maxRss = process.memoryUsage.rss();
  const timer = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage.rss())), 250);
  return {
    stop() {
      clearInterval(timer);
      const cpu = process.cpuUsage(cpu0);
      return { maxRssMiB: maxRss / 2 ** 20, cpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - t0) };
    },
  };
}
