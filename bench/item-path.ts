/**
 * The per-item path of processSlice taken apart, each piece timed on its own with no Temporal:
 * reading the source, the item runner around the processor, and the whole activity (source, item runner,
 * ledger, heartbeat timer) under a mocked activity context. Set next to the ledger's raw commit
 * rate and the full batch, the differences say where an item's time goes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { processSlice } from '../src/activities/process-slice';
import type { ProcessSliceResult } from '../src/contract/activity-io';
import { ItemRunner } from '../src/activities/run-item';
import { SqliteLedger } from '../src/ledger/sqlite-ledger';
import { getProcessor } from '../src/processors/registry';
import { openSource } from '../src/sources/open-source';
import type { SourceItem } from '../src/sources/source';
import { parseBatchSpec, type BatchSpec, type BatchSpecInput } from '../src/contract/batch-spec';
import type { Throughput } from './throughput';
import type { SliceBounds } from '../src/contract/slices';
import { laneCeiling } from '../src/contract/adaptive-concurrency';

export function benchSpec(
  file: string,
  processor: string,
  options: Record<string, unknown> | undefined,
  rest: Omit<BatchSpecInput, 'source' | 'processor'> = {},
  kind: 'jsonl' | 'text' = 'jsonl',
): BatchSpec {
  return parseBatchSpec({
    source: { kind, path: file },
    processor: { name: processor, ...(options ? { options } : {}) },
    ...rest,
  });
}

/** Every slice of the source, as the workflow's windows would cut it. */
export async function planAll(spec: BatchSpec, dataDir: string): Promise<SliceBounds[]> {
  const source = openSource(spec.source, { dataDir, batchId: 'plan' });
  const slices: SliceBounds[] = [];
  let from = { index: 0, offset: 0 };
  for (;;) {
    const plan = await source.planWindow(from, spec.checkpointEvery, spec.sliceSize);
    slices.push(...plan.slices);
    from = plan.next;
    if (plan.exhausted) return slices;
  }
}

/** Runs `work` over the slices with `concurrency` lanes, as the workflow does. */
async function inLanes(slices: SliceBounds[], concurrency: number, work: (slice: SliceBounds) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < slices.length; i = next++) await work(slices[i]);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

function timed(items: number, t0: number): Throughput {
  const seconds = (performance.now() - t0) / 1000;
  return { items, seconds, itemsPerSecond: items / seconds };
}

/** LineSource.readSlice over every slice: open, stat, scan, UTF-8 decode and JSON.parse per item. */
export async function sourceReadRate(spec: BatchSpec, dataDir: string): Promise<Throughput> {
  const slices = await planAll(spec, dataDir);
  const source = openSource(spec.source, { dataDir, batchId: 'read' });
  let items = 0;
  const t0 = performance.now();
  await inLanes(slices, laneCeiling(spec.concurrency), async (slice) => {
    for await (const _item of source.readSlice(slice)) items++;
  });
  return timed(items, t0);
}

/** Planning: cutting one window of N items into slices (done once per workflow run). */
export async function planWindowSeconds(spec: BatchSpec, dataDir: string): Promise<number> {
  const source = openSource(spec.source, { dataDir, batchId: 'plan' });
  const t0 = performance.now();
  await source.planWindow({ index: 0, offset: 0 }, spec.checkpointEvery, spec.sliceSize);
  return (performance.now() - t0) / 1000;
}

/** ItemRunner.run (timeout, abort wiring, JSON of the result) around the processor, items from memory. */
export async function runItemRate(spec: BatchSpec, items: number): Promise<Throughput> {
  const processor = getProcessor(spec.processor.name);
  const sliceSignal = new AbortController().signal;
  const log = { info() {}, warn() {}, error() {} };
  const value = { id: 1, name: 'item-1' };
  const slices: SliceBounds[] = [];
  for (let start = 0; start < items; start += spec.sliceSize)
    slices.push({ start, count: Math.min(spec.sliceSize, items - start), startOffset: 0, endOffset: 0 });
  const t0 = performance.now();
  await inLanes(slices, laneCeiling(spec.concurrency), async (slice) => {
    const runner = new ItemRunner({ batchId: 'run-item', spec, processor, log, sliceSignal });
    try {
      for (let index = slice.start; index < slice.start + slice.count; index++) {
        const item: SourceItem = { index, value };
        await runner.run(item);
      }
    } finally {
      runner.close();
    }
  });
  return timed(items, t0);
}

/** The whole processSlice activity (source, runItem, ledger, heartbeat timer) in a mocked activity context. */
export async function processSliceRate(spec: BatchSpec, dataDir: string): Promise<Throughput> {
  const slices = await planAll(spec, dataDir);
  const file = path.join(dataDir, `process-slice-${process.hrtime.bigint()}.sqlite`);
  const ledger = new SqliteLedger(file);
  const batchId = 'process-slice';
  let items = 0;
  try {
    const t0 = performance.now();
    await inLanes(slices, laneCeiling(spec.concurrency), async (slice) => {
      const env = new MockActivityEnvironment({ heartbeatTimeoutMs: spec.heartbeatTimeoutMs, activityId: String(slice.start) });
      const result: ProcessSliceResult = await env.run(processSlice, { ledger, dataDir }, { batchId, spec, slice });
      if (result.outcome !== 'done') throw new Error(`slice ${slice.start} stopped: ${result.outcome}`);
      items += result.tally.succeeded + result.tally.failed;
    });
    return timed(items, t0);
  } finally {
    await ledger.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  }
}
