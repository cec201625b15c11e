/**
 * (f) Every lane busy: slow items at the default slice size, for several C and batch sizes, each
 * beside the bare loop with the same C in the same run; and a batch whose every 50th item is
 * slow, where a lane with a long slice would finish last. Cells run shortest first, so a smoke
 * or an interrupted run still has the cheap ones.
 */
import type { BenchEnv } from '../bench-env';
import { bareLoop } from '../bare-loop';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import type { Throughput } from '../throughput';
import { defineProcessor } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { log } from '../log';

/** `bench-skewed`: sleeps `ms`, except every `slowEvery`-th item (by its id), which sleeps `slowMs`. */
export const SKEWED_PROCESSOR = 'bench-skewed';

const skewedProcessor = defineProcessor(async (item, ctx) => {
  const id = Number((item as { id?: number }).id ?? 0);
  const ms = (id + 1) % Number(ctx.options.slowEvery) === 0 ? Number(ctx.options.slowMs) : Number(ctx.options.ms);
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
  return null;
});

export interface LanesPlan {
  itemMs: number[];
  concurrencies: number[];
  batches: number[];
  skew: { items: number; concurrency: number; ms: number; slowEvery: number; slowMs: number };
}

export interface LanesCell {
  itemMs: number;
  concurrency: number;
  items: number;
  waymark: WaymarkRun;
  bare: Throughput;
}

export interface LanesResult {
  /** waymark's fixed cost per batch (start, plan, finalize): a one-item noop batch, start to result. */
  fixedSeconds: number;
  cells: LanesCell[];
  skew: LanesPlan['skew'] & { waymark: WaymarkRun; bare: Throughput };
}

export async function measureLanes(env: BenchEnv, plan: LanesPlan): Promise<LanesResult> {
  registerProcessor(SKEWED_PROCESSOR, skewedProcessor);
  const fixed = await runWaymarkBatch(env, { file: itemsFile(env.dir, 1), items: 1, processor: 'noop' });
  log(`  fixed cost per batch: ${fixed.seconds.toFixed(2)} s`);
  const order = plan.batches
    .flatMap((items) => plan.itemMs.flatMap((itemMs) => plan.concurrencies.map((concurrency) => ({ items, itemMs, concurrency }))))
    .sort((a, b) => (a.items * a.itemMs) / a.concurrency - (b.items * b.itemMs) / b.concurrency);
  const cells: LanesCell[] = [];
  for (const { items, itemMs, concurrency } of order) {
    const file = itemsFile(env.dir, items);
    const options = { ms: itemMs };
    const waymark = await runWaymarkBatch(env, { file, items, processor: 'sleep', options, spec: { concurrency } });
    const bare = await bareLoop(file, 'sleep', options, concurrency);
    cells.push({ itemMs, concurrency, items, waymark, bare });
    log(
      `  ${items} x ${itemMs} ms, C=${concurrency}: waymark ${waymark.itemsPerSecond.toFixed(0)}/s, bare ${bare.itemsPerSecond.toFixed(0)}/s (${(waymark.itemsPerSecond / bare.itemsPerSecond).toFixed(2)}x)`,
    );
  }
  const s = plan.skew;
  const file = itemsFile(env.dir, s.items);
  const options = { ms: s.ms, slowEvery: s.slowEvery, slowMs: s.slowMs };
  const waymark = await runWaymarkBatch(env, {
    file,
    items: s.items,
    processor: SKEWED_PROCESSOR,
    options,
    spec: { concurrency: s.concurrency },
  });
  const bare = await bareLoop(file, SKEWED_PROCESSOR, options, s.concurrency);
  log(`  skewed: waymark ${waymark.seconds.toFixed(1)} s, bare ${bare.seconds.toFixed(1)} s`);
  return { fixedSeconds: fixed.seconds, cells, skew: { ...s, waymark, bare } };
}
