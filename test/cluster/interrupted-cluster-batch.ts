/**
 * A batch on the local cluster while its processes are killed one at a time, as the chaos run
 * does on the dev server (tools/chaos/interrupted-batch.ts), with the cluster's own targets: a
 * worker, the history service, the matching service. Each interruption fires at a count of
 * committed items, and the next waits until the batch has recovered from it, so every redone
 * item can be charged to the interruption that caused it (tools/chaos/verify.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ExecutionLogTail } from '../../tools/chaos/execution-log';
import { noSliceAttemptStartedBefore } from '../../tools/chaos/interrupted-batch';
import { ProgressMonitor } from '../../tools/chaos/progress-monitor';
import type { LocalCluster } from '../../tools/cluster/local-cluster';
import type { Ledger } from '../../src/ledger/ledger';
import type { BatchSummary } from '../../src/contract/messages';
import { resultDespiteOutages, startWithTemporalCli, type WorkerPool } from './batch-rig';

export type ClusterInterruptionKind = 'worker-kill' | 'history-kill' | 'matching-kill';

export interface PlannedClusterInterruption {
  kind: ClusterInterruptionKind;
  /** Fires once this many items are committed. */
  atCommitted: number;
  /** The worker slot a worker kill hits; default the worker that executed an item last (one with slices in flight). */
  worker?: number;
}

export interface FiredClusterInterruption {
  kind: ClusterInterruptionKind;
  committed: number;
  /** Epoch ms of the SIGKILL. */
  at: number;
  target: string;
  /** Epoch ms when the killed process had been replaced and listened (a service) or polled (a worker) again. */
  backAt: number;
  /** Epoch ms when the batch first started a slice it had not started before. */
  resumedAt?: number;
}

export interface InterruptedClusterBatch {
  summary: BatchSummary;
  startedAt: number;
  durationMs: number;
  fired: FiredClusterInterruption[];
  missed: PlannedClusterInterruption[];
}

export interface InterruptedClusterBatchInput {
  client: Client;
  cluster: LocalCluster;
  workers: WorkerPool;
  ledger: Ledger;
  batchId: string;
  taskQueue: string;
  specFile: string;
  sliceSize: number;
  executionLog: string;
  plan: PlannedClusterInterruption[];
  timeoutMs: number;
  log: (line: string) => void;
}

const POLL_MS = 50;
/** An execution older than this without an outcome is an item cut short, not one being committed. */
const COMMIT_LATENCY_MS = 250;

export async function runInterruptedClusterBatch(input: InterruptedClusterBatchInput): Promise<InterruptedClusterBatch> {
  const { client, cluster, workers, ledger, batchId, plan, log } = input;
  const deadline = Date.now() + input.timeoutMs;
  const monitor = new ProgressMonitor(ledger, batchId, new ExecutionLogTail(input.executionLog), input.sliceSize, COMMIT_LATENCY_MS);
  // Which worker executed an item last: an idle worker killed would prove nothing.
  const executions = new ExecutionLogTail(input.executionLog);
  let lastExecutor: number | undefined;
  const startedAt = Date.now();
  await startWithTemporalCli(cluster.address, batchId, input.taskQueue, input.specFile);
  const elapsed = (time = Date.now()) => `${((time - startedAt) / 1000).toFixed(1).padStart(6)} s`;
  log(`${elapsed()}  started batch ${batchId} with temporal workflow start`);

  let ended = false;
  const result = resultDespiteOutages(client, batchId, deadline).then((summary) => ({ summary, at: Date.now() }));
  void result.then(
    () => (ended = true),
    () => (ended = true),
  );
  /** Polls until `condition` holds (true) or the batch has ended (false). */
  const until = async (waitingFor: string, condition: () => boolean | Promise<boolean>): Promise<boolean> => {
    for (;;) {
      await monitor.sample();
      const latest = executions.readNew().at(-1);
      if (latest) lastExecutor = latest.pid;
      if (Date.now() > deadline) throw new Error(`the cluster batch timed out after ${input.timeoutMs / 1000} s waiting for ${waitingFor}`);
      const dead = workers.exitedUnplanned();
      if (dead.length > 0) throw new Error(`worker(s) ${dead.join(', ')} died without being killed; see their logs`);
      if (ended) return false;
      if (await condition()) return true;
      await sleep(POLL_MS);
    }
  };

  const fired: FiredClusterInterruption[] = [];
  for (const planned of plan) {
    if (!(await until(`${planned.atCommitted} committed items`, () => monitor.committed >= planned.atCommitted))) break;
    const slot = planned.worker ?? (lastExecutor === undefined ? undefined : workers.slotOf(lastExecutor)) ?? 0;
    const interruption: FiredClusterInterruption = {
      kind: planned.kind,
      committed: monitor.committed,
      ...(await interrupt(planned.kind, slot, cluster, workers)),
    };
    fired.push(interruption);
    const after = (time: number) => `${((time - interruption.at) / 1000).toFixed(1)} s`;
    log(
      `${elapsed(interruption.at)}  ${planned.kind} at ${interruption.committed} committed items: ${interruption.target}, back after ${after(interruption.backAt)}`,
    );

    if (await until('the batch to start a new slice', () => monitor.lastSliceStartedAt > interruption.at)) {
      interruption.resumedAt = monitor.lastSliceStartedAt;
    }
    // The next interruption waits until this one's redos are done. A killed worker cut its items
    // short as it died; a killed service may have let slice attempts time out that still ran in
    // their workers until a newer attempt fenced them out, so those must all have been replaced.
    let quietFrom = interruption.backAt;
    if (planned.kind !== 'worker-kill') {
      await until('the slices running at the kill to finish or be retried', () =>
        noSliceAttemptStartedBefore(client, batchId, interruption.at),
      );
      quietFrom = Date.now();
    }
    await until('the interrupted items to be redone', () => {
      const now = Date.now();
      return now >= quietFrom + COMMIT_LATENCY_MS && monitor.allCommittedBefore(now - COMMIT_LATENCY_MS);
    });
    log(
      `${elapsed()}    ${interruption.resumedAt === undefined ? 'batch ended before it started a new slice' : `new slice started after ${after(interruption.resumedAt)}`}, ` +
        `redos done after ${after(Date.now())}`,
    );
  }
  await until('the batch to finish', () => false);
  const { summary, at } = await result;
  const missed = plan.slice(fired.length);
  log(`${elapsed(at)}  batch finished${missed.length ? `; ${missed.length} planned interruption(s) had not fired` : ''}`);
  return { summary, startedAt, durationMs: at - startedAt, fired, missed };
}

async function interrupt(
  kind: ClusterInterruptionKind,
  slot: number,
  cluster: LocalCluster,
  workers: WorkerPool,
): Promise<Pick<FiredClusterInterruption, 'at' | 'target' | 'backAt'>> {
  if (kind === 'worker-kill') {
    const { pid, at, replacement } = await workers.killAndReplace(slot);
    return { at, target: `worker ${slot} pid ${pid}, replaced by pid ${replacement}`, backAt: Date.now() };
  }
  const service = kind === 'history-kill' ? 'history' : 'matching';
  const { pid, at } = await cluster.killService(service);
  const replacement = await cluster.startService(service);
  return { at, target: `${service} service pid ${pid}, restarted as pid ${replacement}`, backAt: Date.now() };
}
