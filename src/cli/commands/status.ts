/** `waymark status`: progress of a batch, once, as JSON, or followed live. */
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { BatchManifest } from '../../contract/activity-io';
import type { BatchProgress } from '../../contract/messages';
import type { AdaptiveLanesProgress } from '../../contract/adaptive-concurrency';
import type { batchWorkflow } from '../../workflows/batch-workflow';
import { describeState, formatUsage, lanesFound } from '../../workflows/details';
import { providerJobsLine } from '../../workflows/provider-details';
import { temporalAddress } from '../../settings';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { closedBatch, endedError, rootMessage, summaryExitCode, type ClosedBatch } from '../batch-outcome';
import { finishWatched } from '../print-summary';
import { openLedgerQuietly, watchBatch } from '../watch-batch';
import { ProgressReader } from '../batch-progress';
import { noWorkerMessage, unanswered, WORKER_ANSWER_MS, workerPolls, workerSighting } from '../worker-presence';
import { printable } from '../terminal-text';
import { addNotifyOptions, notifyTargets, type NotifyFlags } from '../notify-flags';
import { wholeNumber } from '../flag-values';
import { undeliveredNotifications } from '../undelivered-notifications';
import { batchOrchestrationCost, describeCost } from '../../telemetry/orchestration-cost';

const DEFAULT_UNATTENDED_AFTER_S = 600;

export function addStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description('progress of a batch')
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON')
    .option('--watch', 'follow with a live progress bar until the batch ends')
    .option(
      '--unattended-after <seconds>',
      'with --watch --notify: tell once no worker has polled this long (default 600)',
      wholeNumber('--unattended-after', 1),
    );
  addNotifyOptions(command, 'with --watch: where to tell that no worker runs the batch (which it cannot tell by itself)').action(status);
}

async function status(batchId: string, o: { json?: boolean; watch?: boolean; unattendedAfter?: number } & NotifyFlags): Promise<void> {
  const client = await connectClient();
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no batch "${batchId}" on ${temporalAddress()}; check the id`);
    throw err;
  }
  if (description.status.name === 'RUNNING') {
    if (o.watch) {
      const targets = notifyTargets(o);
      const notice = targets && { targets, afterMs: (o.unattendedAfter ?? DEFAULT_UNATTENDED_AFTER_S) * 1000 };
      finishWatched(await watchBatch(handle, description.taskQueue, notice));
      return;
    }
    // A query needs a worker: without one it would wait and then fail with a gRPC error.
    if (!(await workerPolls(client.workflow, description.taskQueue))) {
      throw new CliError(`batch ${batchId} is running, but it cannot report progress: ${noWorkerMessage(description.taskQueue)}`);
    }
    const progress = await runningProgress(handle, description.taskQueue);
    if (progress) {
      const actions = await batchOrchestrationCost(client, batchId, progress.heartbeats ?? 0, progress.succeeded + progress.failed).catch(
        () => undefined,
      );
      if (o.json) console.log(JSON.stringify({ batchId, status: 'RUNNING', ...progress, ...(actions && { actions }) }, null, 2));
      else {
        printProgress(batchId, progress);
        if (actions) console.log(`actions   ${describeCost(actions)}, so far`);
        console.log('workflow  RUNNING');
        await printUndelivered(client, batchId);
      }
      return;
    }
  }
  // Closed (or closed since describe): its result, failure and manifest tell, no worker needed.
  const workflowStatus = description.status.name === 'RUNNING' ? (await handle.describe()).status.name : description.status.name;
  const closed = await closedBatch(handle, workflowStatus);
  printClosed(batchId, closed, o.json);
  if (!o.json) await printUndelivered(client, batchId);
  if (o.watch) {
    // --watch ends as `start --wait` does: its exit code says how the batch ended.
    if (closed.ending !== 'completed') throw endedError(batchId, closed);
    process.exitCode = summaryExitCode(closed.summary);
  }
}

/** The progress of a running batch (batch-progress.ts); undefined when it closed meanwhile. */
async function runningProgress(handle: WorkflowHandle<typeof batchWorkflow>, taskQueue: string): Promise<BatchProgress | undefined> {
  const ledger = openLedgerQuietly();
  // Its first read queries the workflow, which only a worker answers: a deadline tells when none does.
  const deadline = Date.now() + WORKER_ANSWER_MS;
  try {
    return await handle.client.connection.withDeadline(deadline, () => new ProgressReader(handle, ledger).read());
  } catch (err) {
    if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
    // The server still lists a worker that stopped minutes ago; that none answered is what tells.
    if (unanswered(err, deadline)) {
      const sighting = await workerSighting(handle.client, taskQueue);
      throw new CliError(`batch ${handle.workflowId} is running, but it cannot report progress: ${noWorkerMessage(taskQueue, sighting)}`);
    }
    throw new CliError(
      `cannot read the progress of batch ${handle.workflowId}: ${rootMessage(err as Error)}; try again, or see it in the Temporal Web UI`,
    );
  } finally {
    await ledger?.close().catch(() => undefined);
  }
}

function printClosed(batchId: string, closed: ClosedBatch, json?: boolean): void {
  const manifest: BatchManifest | undefined = closed.ending === 'completed' ? closed.summary : closed.manifest;
  const progress = manifest ? progressOf(manifest) : undefined;
  const workflowStatus = closed.ending === 'completed' ? 'COMPLETED' : closed.workflowStatus;
  const reason = closed.ending === 'completed' ? undefined : closed.reason;
  if (json) {
    console.log(
      JSON.stringify(
        {
          batchId,
          status: workflowStatus,
          ...(progress ?? { state: closed.ending }),
          ...(reason ? { reason } : {}),
          ...(manifest?.actions ? { actions: manifest.actions } : {}),
        },
        null,
        2,
      ),
    );
    return;
  }
  if (progress) printProgress(batchId, progress);
  if (manifest?.actions) console.log(`actions   ${describeCost(manifest.actions)}`);
  if (!progress) {
    console.log(`batch     ${batchId}`);
    console.log(`state     ${closed.ending}`);
  }
  if (reason) console.log(`reason    ${printable(reason)}`);
  if (manifest?.total === 0) console.log('note      nothing to do: the source has no items');
  console.log(`workflow  ${workflowStatus}`);
}

/** The progress a finished batch ended with, from its manifest. */
function progressOf(m: BatchManifest): BatchProgress {
  const firstPending = m.pendingRanges[0]?.[0];
  return {
    state: m.status,
    total: m.total,
    succeeded: m.succeeded,
    failed: m.failed,
    redone: m.redone,
    ...(m.usage !== undefined ? { usage: m.usage } : {}),
    cursor: firstPending ?? m.total,
    runs: m.runs,
    slicesInFlight: 0,
    resumeCostBound: m.resumeCostBound,
    startedAt: Date.parse(m.startedAt),
    concurrency: m.concurrency,
    sliceSize: m.sliceSize,
    ...(m.lanes !== undefined ? { adaptiveLanes: lanesAtEnd(m.lanes) } : {}),
  };
}

/** Adaptive lanes as a finished batch left them: those of its last sample (none once its slices ended). */
function lanesAtEnd({ samples, ...lanes }: NonNullable<BatchManifest['lanes']>): AdaptiveLanesProgress {
  const last = samples.at(-1);
  return { ...lanes, batchLanes: last?.lanes ?? 0, poolLanes: last?.poolLanes ?? 0 };
}

function printProgress(batchId: string, p: BatchProgress): void {
  const total = p.total === undefined ? '?' : String(p.total);
  console.log(`batch     ${batchId}`);
  console.log(`state     ${describeState(p)}`);
  console.log(`items     ${p.succeeded + p.failed}/${total} (succeeded ${p.succeeded}, failed ${p.failed})`);
  if (p.usage !== undefined) console.log(`usage     ${formatUsage(p.usage)}`);
  console.log(`cursor    ${p.cursor}   runs ${p.runs}   slices in flight ${p.slicesInFlight}`);
  if (p.lanesHeld !== undefined) console.log(`lanes     ${p.lanesHeld} of ${p.concurrency} (C) held by the running slices`);
  if (p.adaptiveLanes !== undefined) console.log(`adaptive  ${lanesFound(p.adaptiveLanes)}`);
  const jobs = providerJobsLine(p);
  if (jobs !== undefined) console.log(`jobs      ${jobs}`);
  console.log(`redone    ${p.redone}   resume-cost bound ${p.resumeCostBound} items per interruption`);
}

async function printUndelivered(client: Client, batchId: string): Promise<void> {
  for (const reason of await undeliveredNotifications(client, batchId)) console.log(`notify    not delivered, given up: ${reason}`);
}
