/**
 * (j) Orchestration cost: the Temporal Cloud actions a batch costs per 1,000 items, by type, as
 * the server counts them, for waymark (watched as `--wait` watches it) and for the per-item
 * pattern of Temporal's batch samples (an activity per item, a page of C at a time), at item times
 * from 1 ms to 2 s and C from 4 to 500. waymark's batches are at least 1,000 items, so its fixed
 * cost per batch (a start, a plan, a finalize) weighs as it does in a real run; the per-item
 * pattern costs an action an item whatever the batch's size, so its batches are shorter.
 */
import type { BenchEnv } from '../bench-env';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { runPerItemBatch, type PerItemRun } from '../per-item/run-per-item';
import { log } from '../log';
import { totalActions } from '../actions';

export interface OrchestrationCostPlan {
  itemMs: number[];
  concurrencies: number[];
  /** waymark's items per cell: at least this many, and C x 4 rounds. */
  waymarkItems: number;
  /** The per-item pattern's items: at least C x 2, at most this many. */
  perItemItems: number;
}

export interface OrchestrationCostCell {
  itemMs: number;
  concurrency: number;
  waymark: WaymarkRun;
  perItem: PerItemRun;
}

export async function measureOrchestrationCost(env: BenchEnv, plan: OrchestrationCostPlan): Promise<OrchestrationCostCell[]> {
  const cells: OrchestrationCostCell[] = [];
  for (const itemMs of plan.itemMs) {
    for (const concurrency of plan.concurrencies) {
      const items = Math.max(plan.waymarkItems, concurrency * 4);
      const options = { ms: itemMs };
      const waymark = await runWaymarkBatch(env, {
        file: itemsFile(env.dir, items),
        items,
        processor: 'sleep',
        options,
        spec: { concurrency },
        countActions: true,
      });
      const perItems = Math.min(plan.perItemItems, Math.max(concurrency * 2, Math.ceil((concurrency * 20_000) / itemMs)));
      const perItem = await runPerItemBatch(env, {
        file: itemsFile(env.dir, perItems),
        items: perItems,
        processor: 'sleep',
        options,
        pageSize: concurrency,
        countActions: true,
      });
      cells.push({ itemMs, concurrency, waymark, perItem });
      const per1000 = (actions: Record<string, number>, n: number) => ((totalActions(actions) / n) * 1000).toFixed(1);
      log(
        `  ${itemMs} ms, C=${concurrency}: waymark ${per1000(waymark.actions!, items)}, per-item ${per1000(perItem.actions!, perItems)} actions per 1,000 items`,
      );
    }
  }
  return cells;
}
