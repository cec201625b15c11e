/** `waymark redrive`: a linked batch over the failed and pending items of a finished batch. */
import type { Command } from 'commander';
import { loadConfiguredProcessors } from '../../processors/configured';
import { existingLedger } from '../../ledger/open-ledger';
import { TASK_QUEUE } from '../../settings';
import { connectClient } from '../../connection/connect';
import { planRedrive, redriveBatchId } from '../../redrive/plan-redrive';
import { batchRecord } from '../batch-record';
import { finishWatched } from '../print-summary';
import { startBatch } from '../start-batch';
import { watchBatch } from '../watch-batch';

export function addRedriveCommand(program: Command): void {
  program
    .command('redrive')
    .description('re-run only the failed (and pending) items of a finished batch, as a linked batch merged back into it')
    .argument('<batch>', 'batch id')
    .option('--batch-id <id>', 'id of the redrive batch; default: BATCH-redrive-TIME')
    .option('--wait', 'show a live progress bar and exit when the redrive completes')
    .action(redrive);
}

async function redrive(batchId: string, o: { batchId?: string; wait?: boolean }): Promise<void> {
  loadConfiguredProcessors();
  const ledger = existingLedger();
  let plan;
  try {
    await batchRecord(ledger, batchId, 'redrive', true);
    plan = await planRedrive(ledger!, batchId);
  } finally {
    await ledger?.close();
  }
  const client = await connectClient();
  const handle = await startBatch(client, plan.spec, o.batchId ?? redriveBatchId(plan.redriven));
  console.log(`started redrive ${handle.workflowId} of ${plan.items} item(s) of batch ${plan.redriven}`);
  if (!o.wait) return;
  finishWatched(await watchBatch(handle, TASK_QUEUE));
  console.log(`merged into ${plan.redriven}: \`waymark export ${plan.redriven} --out DIR\` shows the final state`);
}
