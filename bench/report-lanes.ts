/** BENCHMARKS.md's sections (i) Hundreds of lanes and (j) Orchestration cost. */
import { int, table } from './markdown';
import { totalActions, type ActionCounts } from './actions';
import type { ManyLanesCell } from './sections/many-lanes';
import type { OrchestrationCostCell } from './sections/orchestration-cost';

const perThousandItems = (n: number, items: number) => (n / items) * 1000;
export const per1000 = (actions: ActionCounts | undefined, items: number) => perThousandItems(totalActions(actions ?? {}), items);

/** n per 1,000 items, with two significant digits below 1 (a batch's few starts are not 0.0). */
const perThousand = (n: number, items: number) => {
  const v = perThousandItems(n, items);
  return v >= 1 ? v.toFixed(1) : v.toPrecision(2);
};

/** The action types of a cell, most first: `ScheduleActivityTask 33, RecordActivityTaskHeartbeat 21, ...`. */
export function byType(actions: ActionCounts | undefined, items: number): string {
  return Object.entries(actions ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${perThousand(n, items)}`)
    .join(', ');
}

export function manyLanesSection(cells: ManyLanesCell[]): string {
  const ratio = (c: ManyLanesCell) => c.waymark.itemsPerSecond / c.bare.itemsPerSecond;
  const rows = cells.map((c) => [
    `${c.itemMs} ms`,
    int(c.concurrency),
    int(c.items),
    int(c.waymark.slices),
    `${c.waymark.itemsPerSecond.toFixed(0)} (${c.waymark.seconds.toFixed(1)} s)`,
    `${c.bare.itemsPerSecond.toFixed(0)} (${c.bare.seconds.toFixed(1)} s)`,
    `${ratio(c).toFixed(2)}x`,
    ratio(c) >= 0.9 ? 'yes' : '**no**',
    per1000(c.waymark.actions, c.items).toFixed(1),
    (c.waymark.heartbeatsPerSliceMinute ?? 0).toFixed(2),
  ]);
  const measured = cells.find((c) => c.waymark.resources !== undefined);
  return [
    'Items that sleep, as LLM and API calls wait, at the default slice size, on one in-process worker, beside the bare loop with the same lanes in the same run; ' +
      `items enough that the bare loop runs at least ${Math.floor(Math.min(...cells.map((c) => c.bare.seconds)))} s. A slice runs many items at once (src/contract/lanes.ts), so slice activities stay a few dozen at most. ` +
      "Each batch is watched as `waymark start --wait` watches it; its Temporal Cloud actions are the server's own count (section (j)).",
    '',
    table(
      [
        'item',
        'C',
        'items',
        'slices',
        'waymark items/s (time)',
        'bare loop items/s (time)',
        'waymark / bare',
        '>= 0.90x',
        'actions per 1,000 items',
        'heartbeats per slice-minute',
      ],
      rows,
    ),
    '',
    ...(measured
      ? [
          `Memory and CPU at C = ${int(measured.concurrency)} with ${measured.itemMs} ms items (worker, ledger, watcher and bench in one Node.js process): ` +
            `at most **${measured.waymark.resources!.maxRssMiB.toFixed(0)} MiB** resident, **${(measured.waymark.resources!.cpuShare * 100).toFixed(0)} %** of one core over the batch.`,
        ]
      : []),
  ].join('\n');
}

export function orchestrationCostSection(cells: OrchestrationCostCell[]): string {
  const rows = cells.map((c) => {
    const w = per1000(c.waymark.actions, c.waymark.items);
    const p = per1000(c.perItem.actions, c.perItem.items);
    return [
      `${c.itemMs} ms`,
      int(c.concurrency),
      int(c.waymark.items),
      w.toFixed(1),
      w <= 50 ? 'yes' : '**no**',
      `${p.toFixed(0)} (${int(c.perItem.items)} items)`,
      `${(p / w).toFixed(0)}x`,
      byType(c.waymark.actions, c.waymark.items),
    ];
  });
  return [
    'What Temporal Cloud bills a batch, counted by the server itself: its metric `action{action_type=...}` read before and after each batch. An action is a workflow start, an activity task scheduled, ' +
      "a heartbeat recorded, a timer, a batch of local activity markers, a search attribute upsert (a patch's too), a query, a signal or an update. " +
      "waymark's batches are watched by a reader of their progress every 500 ms, as `--wait` reads it, with the ledger at hand (the CLI on the worker's machine, or PostgreSQL); " +
      "the per-item pattern of Temporal's batch samples runs an activity per item, a page of C at a time, and is unwatched. Target: waymark at most 50 actions per 1,000 items, 1/20 of the per-item pattern.",
    '',
    table(
      [
        'item',
        'C',
        'waymark items',
        'waymark actions per 1,000 items',
        '<= 50',
        'per-item pattern per 1,000 items',
        'per-item / waymark',
        'waymark by type (per 1,000 items)',
      ],
      rows,
    ),
  ].join('\n');
}
