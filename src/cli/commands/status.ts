/** `waymark status`: progress of a batch, once, as JSON, or followed live. */
import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { BatchProgress } from '../../contract/messages';
import type { batchWorkflow } from '../../workflows/batch-workflow';
import { describeState } from '../../workflows/details';
import { temporalAddress } from '../../settings';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { printSummary } from '../print-summary';
import { watchBatch } from '../watch-batch';
import { batchProgress } from '../batch-progress';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('progress of a batch')
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON')
    .option('--watch', 'follow with a live progress bar until the batch ends')
    .action(status);
}

async function status(batchId: string, o: { json?: boolean; watch?: boolean }): Promise<void> {
  const client = await connectClient();
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no batch "${batchId}" on ${temporalAddress()}; check the id`);
    throw err;
  }
  if (o.watch && description.status.name === 'RUNNING') {
    printSummary(await watchBatch(handle));
    return;
  }
  const progress = await batchProgress(handle);
  if (o.json) console.log(JSON.stringify({ batchId, status: description.status.name, ...progress }, null, 2));
  else {
    printProgress(batchId, progress);
    console.log(`workflow  ${description.status.name}`);
  }
}

function printProgress(batchId: string, p: BatchProgress): void {
  const total = p.total === undefined ? '?' : String(p.total);
  console.log(`batch     ${batchId}`);
  console.log(`state     ${describeState(p)}`);
  console.log(`items     ${p.succeeded + p.failed}/${total} (succeeded ${p.succeeded}, failed ${p.failed})`);
  console.log(`cursor    ${p.cursor}   runs ${p.runs}   slices in flight ${p.slicesInFlight}`);
  console.log(`redone    ${p.redone}   resume-cost bound ${p.resumeCostBound} items per interruption`);
}
