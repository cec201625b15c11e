/**
 * Runs one batch while interrupting it as planned, one interruption at a time: each fires when
 * the ledger reaches its count of committed items, and the next waits until the batch has
 * recovered from it, so each redo can be charged to the interruption that caused it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { WaymarkActivities } from '../../src/activities';
import type { Ledger } from '../../src/ledger/ledger';
import type { BatchSpec } from '../../src/contract/batch-spec';
import type { BatchSummary } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { startBatch } from '../../src/cli/start-batch';
import type { ChaosCluster } from './chaos-cluster';
import { INTERRUPTION_LABELS, type PlannedInterruption } from './chaos-plan';
import type { Deadline } from './deadline';
import { ExecutionLogTail } from './execution-log';
import { ProgressMonitor } from './progress-monitor';

const POLL_MS = 50;
const PROCESS_SLICE: keyof WaymarkActivities = 'processSlice';
/** Long enough for the workers to notice the server is gone, short enough to stay a blip. */
const SERVER_DOWNTIME_MS = 2000;
/** An execution older than this without an outcome is an item cut short, not one being committed. */
const COMMIT_LATENCY_MS = 200;

export interface FiredInterruption {
  planned: PlannedInterruption;
  committed: number;
  /** Epoch ms of the signal. */
  at: number;
  target: string;
  /** Epoch ms when the killed process had been replaced and was ready. */
  backAt: number;
  /** Epoch ms when the batch first started a new slice after the signal. */
  resumedAt?: number;
}

export interface InterruptedBatch {
  summary: BatchSummary;
  durationMs: number;
  fired: FiredInterruption[];
  missed: PlannedInterruption[];
}

export interface InterruptedBatchInput {
  client: Client;
  cluster: ChaosCluster;
  ledger: Ledger;
  spec: BatchSpec;
  batchId: string;
  taskQueue: string;
  plan: PlannedInterruption[];
  /** The side-effect log the workers append to. */
  executionLog: string;
  deadline: Deadline;
  log: (line: string) => void;
}

export async function runInterruptedBatch(input: InterruptedBatchInput): Promise<InterruptedBatch> {
  const { client, cluster, ledger, spec, batchId, taskQueue, plan, deadline, log } = input;
  const monitor = new ProgressMonitor(ledger, batchId, new ExecutionLogTail(input.executionLog), spec.sliceSize, COMMIT_LATENCY_MS);
  const startedAt = Date.now();
  const handle = await startBatch(client, spec, batchId, taskQueue);
  const elapsed = (time = Date.now()) => `${((time - startedAt) / 1000).toFixed(1).padStart(6)} s`;
  log(`${elapsed()}  started batch ${batchId}`);

  let abandoned = false;
  let ended = false;
  const result = resultDespiteOutages(handle, () => abandoned).then((summary) => ({ summary, at: Date.now() }));
  void result.then(
    () => (ended = true),
    () => (ended = true),
  );
  /** Polls until `condition` holds (true) or the batch has ended (false). */
  const until = async (waitingFor: string, condition: () => boolean | Promise<boolean>): Promise<boolean> => {
    for (;;) {
      await monitor.sample();
      cluster.check();
      deadline.check(waitingFor);
      if (ended) return false;
      if (await condition()) return true;
      await sleep(POLL_MS);
    }
  };

  try {
    const fired: FiredInterruption[] = [];
    for (const planned of plan) {
      if (!(await until(`${planned.atCommitted} committed items`, () => monitor.committed >= planned.atCommitted))) break;
      const interruption: FiredInterruption = { planned, committed: monitor.committed, ...(await interrupt(planned, cluster)) };
      fired.push(interruption);
      log(
        `${elapsed(interruption.at)}  ${INTERRUPTION_LABELS[planned.kind]} at ${interruption.committed} committed items: ${interruption.target}`,
      );

      // Redone items and slices finishing are not yet the batch moving on: that takes the workflow.
      if (await until('the batch to start a new slice', () => monitor.lastSliceStartedAt > interruption.at)) {
        interruption.resumedAt = monitor.lastSliceStartedAt;
      }
      const after = (time: number) => `${((time - interruption.at) / 1000).toFixed(1)} s`;
      // The next interruption waits until this one's redos are done. A killed worker cut its items
      // short before it died; a killed server may have lost track of slice attempts that run on in
      // their workers until a newer attempt fences them out, so those must all have been replaced.
      let quietFrom = interruption.backAt;
      if (planned.kind === 'server-kill') {
        await until('the slices running at the server kill to finish or be retried', () =>
          noSliceAttemptStartedBefore(client, batchId, interruption.at),
        );
        quietFrom = Date.now();
      }
      await until('the interrupted items to be redone', () => {
        const now = Date.now();
        return now >= quietFrom + COMMIT_LATENCY_MS && monitor.allCommittedBefore(now - COMMIT_LATENCY_MS);
      });
      log(
        `${elapsed()}    back after ${after(interruption.backAt)}, ` +
          `${interruption.resumedAt === undefined ? 'batch ended before it started a new slice' : `new slice started after ${after(interruption.resumedAt)}`}, ` +
          `redos done after ${after(Date.now())}`,
      );
    }
    await until('the batch to finish', () => false);
    const { summary, at } = await result;
    const missed = plan.slice(fired.length);
    log(`${elapsed(at)}  batch finished${missed.length ? `; ${missed.length} planned interruption(s) had not fired` : ''}`);
    return { summary, durationMs: at - startedAt, fired, missed };
  } finally {
    abandoned = true;
  }
}

async function interrupt(
  planned: PlannedInterruption,
  cluster: ChaosCluster,
): Promise<Pick<FiredInterruption, 'at' | 'target' | 'backAt'>> {
  if (planned.kind === 'server-kill') {
    const at = await cluster.killServer();
    await sleep(SERVER_DOWNTIME_MS);
    const pid = await cluster.startServer();
    return { at, target: `dev server, restarted as pid ${pid} after ${SERVER_DOWNTIME_MS / 1000} s down`, backAt: Date.now() };
  }
  const signal = planned.kind === 'worker-kill' ? 'SIGKILL' : 'SIGTERM';
  const { pid, at, exit } = await cluster.signalWorker(planned.worker, signal);
  const replacement = await cluster.startWorker(planned.worker);
  const drained = signal === 'SIGTERM' ? `, drained in ${((exit.at - at) / 1000).toFixed(1)} s` : '';
  return { at, target: `worker ${planned.worker} pid ${pid}${drained}, replaced by pid ${replacement}`, backAt: Date.now() };
}

/**
 * True when every pending processSlice activity of the batch's current run is on an attempt started
 * at or after `time` (or not started at all): no attempt from before then can still be running.
 * False while the server cannot answer.
 */
export async function noSliceAttemptStartedBefore(client: Client, batchId: string, time: number): Promise<boolean> {
  let pending;
  try {
    pending = (await client.workflow.getHandle(batchId).describe()).raw.pendingActivities ?? [];
  } catch (err) {
    if (err instanceof ServiceError) return false;
    throw err;
  }
  return pending.every((activity) => {
    if (activity.activityType?.name !== PROCESS_SLICE) return true;
    const started = epochMs(activity.lastStartedTime);
    return started === undefined || started >= time;
  });
}

function epochMs(ts: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number | undefined {
  if (!ts?.seconds) return undefined;
  return Number(ts.seconds.toString()) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/**
 * The batch's result, asked for again while the server is down or restarting: the chaos run
 * kills it on purpose, and the batch must survive that. Gives up once `abandoned` says nobody waits.
 */
async function resultDespiteOutages(handle: WorkflowHandle<typeof batchWorkflow>, abandoned: () => boolean): Promise<BatchSummary> {
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      if (!(err instanceof ServiceError) || abandoned()) throw err;
      await sleep(500);
    }
  }
}
