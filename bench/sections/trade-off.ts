/**
 * (d) The trade-off a user picks from: slice size S and commit group k against throughput and
 * the resume-cost bound (C x k) on noop items, where waymark's own costs show most; and
 * concurrency C on 1 ms items, where it decides throughput, each beside the bare loop at that C.
 */
import type { BenchEnv } from '../bench-env';
import { bareLoop } from '../bare-loop';
import { itemsFile } from '../items-file';
import { ledgerCommitRate } from '../ledger-rate';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { DEFAULTS, resumeCostBound } from '../../src/contract/batch-spec';
import { median, type Throughput } from '../throughput';
import { log } from '../log';

export interface SliceGroupCell {
  sliceSize: number;
  commitGroup: number;
  bound: number;
  waymark: WaymarkRun[];
  ledger: Throughput[];
}

export interface ConcurrencyCell {
  concurrency: number;
  bound: number;
  waymark: WaymarkRun;
  bare: Throughput;
}

export interface TradeOffResult {
  items: number;
  grid: SliceGroupCell[];
  concurrencyItems: number;
  concurrency: ConcurrencyCell[];
}

export async function measureTradeOff(
  env: BenchEnv,
  opts: { items: number; slices: number[]; groups: number[]; rounds: number; concurrencyItems: number; concurrencies: number[] },
): Promise<TradeOffResult> {
  const file = itemsFile(env.dir, opts.items);
  const grid: SliceGroupCell[] = [];
  for (const sliceSize of opts.slices) {
    for (const commitGroup of opts.groups) {
      if (commitGroup > sliceSize) continue;
      const checkpointEvery = Math.max(sliceSize, Math.floor(DEFAULTS.checkpointEvery / sliceSize) * sliceSize);
      const cell: SliceGroupCell = {
        sliceSize,
        commitGroup,
        bound: resumeCostBound({ concurrency: DEFAULTS.concurrency, commitGroup }),
        waymark: [],
        ledger: [],
      };
      for (let r = 0; r < opts.rounds; r++) {
        cell.waymark.push(
          await runWaymarkBatch(env, { file, items: opts.items, processor: 'noop', spec: { sliceSize, commitGroup, checkpointEvery } }),
        );
        cell.ledger.push(await ledgerCommitRate(env.dir, { items: opts.items, sliceSize, commitGroup, concurrency: DEFAULTS.concurrency }));
      }
      log(
        `  S=${sliceSize} k=${commitGroup}: waymark ${median(cell.waymark.map((w) => w.itemsPerSecond)).toFixed(0)}/s, ` +
          `ledger ${median(cell.ledger.map((l) => l.itemsPerSecond)).toFixed(0)}/s`,
      );
      grid.push(cell);
    }
  }
  const sleepFile = itemsFile(env.dir, opts.concurrencyItems);
  const concurrency: ConcurrencyCell[] = [];
  for (const c of opts.concurrencies) {
    const bare = await bareLoop(sleepFile, 'sleep', { ms: 1 }, c);
    const waymark = await runWaymarkBatch(env, {
      file: sleepFile,
      items: opts.concurrencyItems,
      processor: 'sleep',
      options: { ms: 1 },
      spec: { concurrency: c },
    });
    concurrency.push({ concurrency: c, bound: resumeCostBound({ concurrency: c, commitGroup: DEFAULTS.commitGroup }), waymark, bare });
    log(`  C=${c} (sleep 1 ms): waymark ${waymark.itemsPerSecond.toFixed(0)}/s, bare ${bare.itemsPerSecond.toFixed(0)}/s`);
  }
  return { items: opts.items, grid, concurrencyItems: opts.concurrencyItems, concurrency };
}
