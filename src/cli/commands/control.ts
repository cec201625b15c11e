/** `waymark pause`, `resume`, `cancel` and `configure`: control of a running batch. */
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { configureUpdate, pauseSignal, resumeSignal } from '../../contract/messages';
import type { batchWorkflow } from '../../workflows/batch-workflow';
import { temporalAddress } from '../../settings';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { concurrencyFlag, positiveNumber, wholeNumber } from '../flag-values';
import { describeConcurrency, type Concurrency } from '../../contract/adaptive-concurrency';
import { rootMessage } from '../batch-outcome';
import { noWorkerMessage, unanswered, WORKER_ANSWER_MS, workerPolls, workerSighting } from '../worker-presence';

export function addPauseCommand(program: Command): void {
  program
    .command('pause')
    .description('pause a batch: slices in flight stop at an item boundary, no new ones start')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.signal(pauseSignal);
      console.log(`pause requested for ${batchId}; \`waymark resume ${batchId}\` goes on from where it stopped`);
      await noteMissingWorker(handle);
    });
}

export function addResumeCommand(program: Command): void {
  program
    .command('resume')
    .description('resume a paused batch')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.signal(resumeSignal);
      console.log(`resumed ${batchId}`);
      await noteMissingWorker(handle);
    });
}

export function addCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('cancel a batch gracefully: slices stop at an item boundary, what is done is kept')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.cancel();
      console.log(`cancel requested for ${batchId}; its manifest will list the pending items`);
      await noteMissingWorker(handle);
    });
}

export function addConfigureCommand(program: Command): void {
  program
    .command('configure')
    .description('change concurrency, slice size or budget of a running batch (from the next slice on)')
    .argument('<batch>', 'batch id')
    .option('--concurrency <n>', 'C: items in flight (lanes), or auto, auto:MIN-MAX for lanes found by themselves', concurrencyFlag)
    .option('--slice <n>', 'S: items per slice', wholeNumber('--slice', 1))
    .option(
      '--budget <max>',
      'the most of its budget\'s unit the batch may use; a batch paused with "budget reached" goes on when it is raised',
      positiveNumber('--budget', 'e.g. --budget 2000000'),
    )
    .action(configure);
}

async function configure(batchId: string, o: { concurrency?: Concurrency; slice?: number; budget?: number }): Promise<void> {
  if (o.concurrency === undefined && o.slice === undefined && o.budget === undefined)
    throw new CliError('say what to change: --concurrency N, --slice N and/or --budget MAX');
  const handle = await runningBatch(batchId);
  // An update is answered by a worker: without one it would wait for as long as none comes.
  const { taskQueue } = await handle.describe();
  if (!(await workerPolls(handle.client, taskQueue)))
    throw new CliError(`cannot configure batch ${batchId} now: ${noWorkerMessage(taskQueue)}`);
  const change = {
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.slice !== undefined ? { sliceSize: o.slice } : {}),
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
  };
  const deadline = Date.now() + WORKER_ANSWER_MS;
  try {
    const now = await handle.client.connection.withDeadline(deadline, () => handle.executeUpdate(configureUpdate, { args: [change] }));
    const budget = now.budget === undefined ? '' : `, budget ${now.budget.max} ${now.budget.unit}`;
    console.log(`${batchId}: concurrency ${describeConcurrency(now.concurrency)}, slice size ${now.sliceSize}${budget}`);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(`configure refused: ${rootMessage(err)}`);
    if (!unanswered(err, deadline)) throw err;
    // The server holds the update for the batch's next workflow task: it is not lost, only not applied yet.
    const sighting = await workerSighting(handle.client, taskQueue);
    console.error(
      `waymark: configure of batch ${batchId} is queued, not applied yet: ${noWorkerMessage(taskQueue, sighting)}. ` +
        `A worker that runs the batch checks and applies it; \`waymark status ${batchId} --json\` shows the settings in force`,
    );
  }
}

/** A signal waits in the batch's history until a worker runs it: say so when none polls. */
async function noteMissingWorker(handle: Awaited<ReturnType<typeof runningBatch>>): Promise<void> {
  const { taskQueue } = await handle.describe();
  if (!(await workerPolls(handle.client, taskQueue)))
    console.error(`waymark: ${noWorkerMessage(taskQueue)}; the request takes effect once one does`);
}

/** A handle to a batch that exists and is still running, or one clear line why not. */
async function runningBatch(batchId: string) {
  const client = await connectClient();
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(`no batch "${batchId}" on ${temporalAddress()}; check the id with \`waymark list\``);
    throw err;
  }
  if (status !== 'RUNNING') throw new CliError(`batch "${batchId}" is not running (${status}); see it with \`waymark status ${batchId}\``);
  return handle;
}
