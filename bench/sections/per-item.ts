/**
 * (b) waymark against the per-item pattern of Temporal's batch samples, on the same items and
 * processor: waymark at its defaults, the baseline with one activity per item, a page at a time.
 */
import type { BenchEnv } from '../bench-env';
import { itemsFile } from '../items-file';
import { runPerItemBatch, type PerItemRun } from '../per-item/run-per-item';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { log } from '../log';

export interface PerItemRound {
  perItem: PerItemRun;
  waymark: WaymarkRun;
}

export interface PerItemResult {
  items: number;
  pageSize: number;
  rounds: PerItemRound[];
}

export async function measurePerItem(
  env: BenchEnv,
  opts: { items: number; pageSize: number; rounds: number; spec?: Omit<BatchSpecInput, 'source' | 'processor'> },
): Promise<PerItemResult> {
  const file = itemsFile(env.dir, opts.items);
  const result: PerItemResult = { items: opts.items, pageSize: opts.pageSize, rounds: [] };
  for (let r = 0; r < opts.rounds; r++) {
    const round: Partial<PerItemRound> = {};
    const steps = [
      async () =>
        void (round.perItem = await runPerItemBatch(env, { file, items: opts.items, processor: 'noop', pageSize: opts.pageSize })),
      async () => void (round.waymark = await runWaymarkBatch(env, { file, items: opts.items, processor: 'noop', spec: opts.spec })),
    ];
    if (r % 2 === 1) steps.reverse();
    for (const step of steps) await step();
    const done = round as PerItemRound;
    result.rounds.push(done);
    log(
      `  per-item round ${r + 1}: waymark ${done.waymark.itemsPerSecond.toFixed(0)}/s, per-item ${done.perItem.itemsPerSecond.toFixed(1)}/s`,
    );
  }
  return result;
}
