/**
 * (i) Hundreds of lanes: slow items, the kind LLM and API calls are, at C of 64 to 1,000 on one
 * worker, each beside the bare loop with the same lanes in the same run, with items enough that
 * the bare loop runs the plan's `bareSeconds`. Each waymark batch is watched as `--wait` watches it, and what
 * it cost in Temporal Cloud actions is counted by the server; the largest cell also samples the
 * process's memory and CPU (worker, ledger and bench share the process).
 */
import type { BenchEnv } from '../bench-env';
import { bareLoop } from '../bare-loop';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import type { Throughput } from '../throughput';
import { log } from '../log';
import { totalActions } from '../actions';

export interface ManyLanesPlan {
  concurrencies: number[];
  itemMs: number[];
  /** Seconds the bare loop should run at least: items = C x seconds / item time. */
  bareSeconds: number;
}

export interface ManyLanesCell {
  itemMs: number;
  concurrency: number;
  items: number;
  waymark: WaymarkRun;
  bare: Throughput;
}

export async function measureManyLanes(env: BenchEnv, plan: ManyLanesPlan): Promise<ManyLanesCell[]> {
  const order = plan.itemMs.flatMap((itemMs) => plan.concurrencies.map((concurrency) => ({ itemMs, concurrency })));
  const largest = order.reduce((a, b) => (b.concurrency * b.itemMs > a.concurrency * a.itemMs ? b : a));
  const cells: ManyLanesCell[] = [];
  for (const { itemMs, concurrency } of order) {
    const items = Math.ceil((concurrency * plan.bareSeconds * 1000) / itemMs);
    const file = itemsFile(env.dir, items);
    const options = { ms: itemMs };
    const waymark = await runWaymarkBatch(env, {
      file,
      items,
      processor: 'sleep',
      options,
      spec: { concurrency },
      countActions: true,
      resources: itemMs === largest.itemMs && concurrency === largest.concurrency,
    });
    const bare = await bareLoop(file, 'sleep', options, concurrency);
    cells.push({ itemMs, concurrency, items, waymark, bare });
    log(
      `  ${items} x ${itemMs} ms, C=${concurrency}: waymark ${waymark.itemsPerSecond.toFixed(0)}/s, bare ${bare.itemsPerSecond.toFixed(0)}/s ` +
        `(${(waymark.itemsPerSecond / bare.itemsPerSecond).toFixed(2)}x), ${((totalActions(waymark.actions!) / items) * 1000).toFixed(1)} actions per 1,000 items`,
    );
  }
  return cells;
}
