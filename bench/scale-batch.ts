/**
 * One big noop batch at waymark's defaults on a worker process: the worker's RSS as the batch
 * passes given item counts, and the history of every workflow run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBatch, validateSpecForStart } from '../src/cli/start-batch';
import { progressQuery } from '../src/contract/messages';
import type { BatchSpecInput } from '../src/contract/batch-spec';
import type { BenchEnv } from './bench-env';
import { historyStats } from './history';
import { itemsFile } from './items-file';
import { readMemory, startWorkerProcess, type Memory } from './worker-process';

export interface RssSample extends Memory {
  /** Items with an outcome when the sample was taken (the workflow's count of finished slices). */
  items: number;
  seconds: number;
}

export interface CountSample extends RssSample {
  /** The item count this sample stands for: the first sample at or past it. */
  requested: number;
}

export interface ScaleResult {
  items: number;
  seconds: number;
  itemsPerSecond: number;
  /** The first sample at or past each requested item count. */
  atCounts: CountSample[];
  /** Samples every `timelineEverySeconds`. */
  timeline: RssSample[];
  /** RSS of the worker once ready, before any batch. */
  idle: Memory;
  runs: number;
  eventsPerRun: number[];
  events: number;
  retriedSlices: number;
}

export async function runScaleBatch(
  env: BenchEnv,
  opts: { items: number; sampleAt: number[]; spec?: Omit<BatchSpecInput, 'source' | 'processor'>; timelineEverySeconds: number },
): Promise<ScaleResult> {
  const dataDir = path.join(env.dir, `scale-${opts.items}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const file = itemsFile(env.dir, opts.items);
  const taskQueue = `bench-scale-${opts.items}-${process.pid}`;
  const worker = await startWorkerProcess({ address: env.server.address, dataDir, taskQueue, logFile: path.join(dataDir, 'worker.log') });
  try {
    const idle = readMemory(worker.pid);
    const spec = validateSpecForStart({ source: { kind: 'jsonl', path: file }, processor: { name: 'noop' }, ...opts.spec });
    const batchId = `scale-${opts.items}-${process.pid}-${Date.now()}`;
    const t0 = performance.now();
    const handle = await startBatch(env.client, spec, batchId, taskQueue);
    let done = false;
    const finished = handle.result().finally(() => (done = true));
    const pending = [...opts.sampleAt].sort((a, b) => a - b);
    const atCounts: CountSample[] = [];
    const timeline: RssSample[] = [];
    let nextTimeline = 0;
    const sample = (items: number): RssSample => ({ items, seconds: (performance.now() - t0) / 1000, ...readMemory(worker.pid) });
    while (!done) {
      let items: number | undefined;
      try {
        const p = await handle.query(progressQuery);
        items = p.succeeded + p.failed;
      } catch {
        // Between runs (continue-as-new) or while the workflow finishes, a query may fail: try again.
      }
      if (items !== undefined) {
        while (pending.length > 0 && items >= pending[0] && pending[0] < opts.items) {
          atCounts.push({ requested: pending.shift()!, ...sample(items) });
        }
        if ((performance.now() - t0) / 1000 >= nextTimeline) {
          timeline.push(sample(items));
          nextTimeline += opts.timelineEverySeconds;
        }
      }
      await Promise.race([finished.catch(() => undefined), sleep(100)]);
    }
    const summary = await finished;
    const seconds = (performance.now() - t0) / 1000;
    // The last count is the whole batch: sampled once it is done, with the worker still up.
    const end = sample(summary.succeeded + summary.failed);
    for (const requested of pending) atCounts.push({ requested, ...end });
    timeline.push(end);
    if (summary.succeeded + summary.failed !== opts.items)
      throw new Error(`scale batch processed ${summary.succeeded + summary.failed} items, expected ${opts.items}`);
    const stats = await historyStats(env.client, batchId, 'processSlice');
    return {
      items: opts.items,
      seconds,
      itemsPerSecond: opts.items / seconds,
      atCounts,
      timeline,
      idle,
      runs: summary.runs,
      eventsPerRun: stats.eventsPerRun,
      events: stats.events,
      retriedSlices: stats.retriedActivities,
    };
  } finally {
    await worker.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
