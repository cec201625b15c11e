/**
 * The ledger's record of a batch, for the commands that read outcomes (failures, export,
 * redrive). When the ledger cannot tell (no record, no manifest yet), Temporal can: a batch that
 * failed before it wrote anything says so with its reason, instead of reading as unknown or unfinished.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { BatchRecord, Ledger } from '../ledger/ledger';
import { describeLedger } from '../ledger/open-ledger';
import { connectClient } from '../connection/connect';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { CliError } from '../user-error';
import { closedBatch, type ClosedBatch } from './batch-outcome';

export type TemporalView = { found: false } | { found: true; running: true } | { found: true; running: false; closed: ClosedBatch };

/** What Temporal knows of the batch; not found when no server answers either, since the ledger is then all there is. */
export async function temporalView(batchId: string): Promise<TemporalView> {
  let client;
  try {
    client = await connectClient();
  } catch {
    return { found: false };
  }
  try {
    const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { found: false };
      throw err;
    }
    if (status === 'RUNNING') return { found: true, running: true };
    return { found: true, running: false, closed: await closedBatch(handle, status) };
  } finally {
    await client.connection.close();
  }
}

/**
 * The record of a batch the ledger has, with its manifest when `needManifest` (export, redrive:
 * the batch must have finished). Otherwise one line saying why not, naming the fix.
 */
export async function batchRecord(
  ledger: Ledger | undefined,
  batchId: string,
  action: string,
  needManifest: boolean,
): Promise<BatchRecord> {
  const record = await ledger?.batch(batchId);
  if (record?.manifest) return record;
  const view = await temporalView(batchId);
  if (view.found && !view.running && view.closed.ending !== 'completed' && !view.closed.manifest) {
    const how = view.closed.ending === 'cancelled' ? 'was cancelled' : 'failed';
    throw new CliError(
      `batch "${batchId}" ${how} before it finished: ${view.closed.reason}; it has nothing to ${action}. Fix the cause and start a new batch`,
    );
  }
  if (record && !needManifest) return record;
  if (record || (view.found && view.running)) {
    throw new CliError(`batch "${batchId}" has not finished yet; wait for it (\`waymark status ${batchId} --watch\`) and ${action} again`);
  }
  if (!ledger) {
    throw new CliError(
      `no ${describeLedger()}: no worker has run with this data dir; set WAYMARK_DATA_DIR to the worker's data dir (or WAYMARK_LEDGER_URL to its PostgreSQL ledger)`,
    );
  }
  throw new CliError(
    `no batch "${batchId}" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir`,
  );
}
