/** Runs the per-item baseline on the bench's dev server with an in-process worker of its own. */
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { BenchEnv } from '../bench-env';
import { historyStats } from '../history';
import type { Throughput } from '../throughput';
import { actionCounts, actionsBetween, settledActions, type ActionCounts } from '../actions';
import { perItemActivities } from './activities';
import type { PerItemTotals } from './contracts';
import type { heartbeatProbeWorkflow, perItemBatch } from './workflows';

export interface PerItemRun extends Throughput {
  runs: number;
  eventsPerRun: number[];
  events: number;
  eventsPerItem: number;
  /** Mean milliseconds from an item's activity being scheduled to its start. */
  meanScheduleToStartMs: number;
  /** The Temporal Cloud actions it cost, by type, if asked for. */
  actions?: ActionCounts;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let started = 0;

async function perItemWorker(env: BenchEnv, taskQueue: string): Promise<Worker> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
  return Worker.create({ connection: env.connection, taskQueue, activities: perItemActivities, workflowBundle: await bundle });
}

export async function runPerItemBatch(
  env: BenchEnv,
  opts: { file: string; items: number; processor: string; options?: Record<string, unknown>; pageSize: number; countActions?: boolean },
): Promise<PerItemRun> {
  const metricsUrl = env.server.metricsUrl;
  const before = opts.countActions && metricsUrl ? await actionCounts(metricsUrl) : undefined;
  const workflowId = `per-item-${opts.processor}-${process.pid}-${++started}`;
  const taskQueue = `bench-${workflowId}`;
  const worker = await perItemWorker(env, taskQueue);
  let totals: PerItemTotals | undefined;
  let seconds = 0;
  await worker.runUntil(async () => {
    const t0 = performance.now();
    totals = await env.client.workflow.execute<typeof perItemBatch>('perItemBatch', {
      workflowId,
      taskQueue,
      args: [{ path: opts.file, processor: opts.processor, options: opts.options, pageSize: opts.pageSize, offset: 0 }],
    });
    seconds = (performance.now() - t0) / 1000;
  });
  if (!totals || totals.processed !== opts.items)
    throw new Error(`per-item batch ${workflowId} processed ${totals?.processed ?? 0} items, expected ${opts.items}`);
  const stats = await historyStats(env.client, workflowId, 'processRecord');
  const actions = before ? actionsBetween(before, await settledActions(metricsUrl!)) : undefined;
  return {
    ...(actions ? { actions } : {}),
    items: opts.items,
    seconds,
    itemsPerSecond: opts.items / seconds,
    runs: totals.runs,
    eventsPerRun: stats.eventsPerRun,
    events: stats.events,
    eventsPerItem: stats.events / opts.items,
    meanScheduleToStartMs: stats.meanScheduleToStartMs,
  };
}

/** Mean microseconds of one Context.heartbeat call inside a real activity on a worker. */
export async function heartbeatCallMicros(env: BenchEnv, calls: number): Promise<number> {
  const workflowId = `heartbeat-probe-${process.pid}-${++started}`;
  const taskQueue = `bench-${workflowId}`;
  const worker = await perItemWorker(env, taskQueue);
  return worker.runUntil(
    env.client.workflow.execute<typeof heartbeatProbeWorkflow>('heartbeatProbeWorkflow', { workflowId, taskQueue, args: [calls] }),
  );
}
