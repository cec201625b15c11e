/**
 * Orchestration cost as Temporal Cloud bills it: the dev server counts every billable action
 * itself, in its Prometheus metric `action{action_type=...}` (workflow starts, activity tasks
 * scheduled, heartbeats recorded, timers, local activity markers, search attribute upserts,
 * queries, signals, updates). Read before and after a batch, the difference is what it cost.
 */

/** Actions by type, in the `default` namespace. */
export type ActionCounts = Record<string, number>;

export async function actionCounts(metricsUrl: string): Promise<ActionCounts> {
  const text = await (await fetch(metricsUrl)).text();
  const counts: ActionCounts = {};
  for (const line of text.split('\n')) {
    const m = /^action\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (labels.namespace !== 'default') continue;
    const type = shortType(labels.action_type ?? 'unknown');
    counts[type] = (counts[type] ?? 0) + Number(m[2]);
  }
  return counts;
}

/** What happened between two readings. */
export function actionsBetween(before: ActionCounts, after: ActionCounts): ActionCounts {
  const out: ActionCounts = {};
  for (const [type, n] of Object.entries(after)) {
    const d = n - (before[type] ?? 0);
    if (d > 0) out[type] = d;
  }
  return out;
}

export function totalActions(counts: ActionCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** `command_ScheduleActivityTask` -> `ScheduleActivityTask`, `grpc_QueryWorkflow` -> `QueryWorkflow`. */
function shortType(type: string): string {
  return type.replace(/^(command|grpc)_/, '');
}

/** The readings settle: a heartbeat or a query counted a moment after the batch's result. */
export async function settledActions(metricsUrl: string): Promise<ActionCounts> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return actionCounts(metricsUrl);
}
