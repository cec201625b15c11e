/** `waymark redrive`: a linked batch that re-runs only the failed and pending items of a finished batch. */
import type { Ledger } from '../ledger/ledger';
import type { BatchManifest } from '../contract/activity-io';
import { parseBatchSpec, type BatchSpec } from '../contract/batch-spec';
import { CliError } from '../user-error';

export interface RedrivePlan {
  spec: BatchSpec;
  /** The batch the outcomes are merged into: the original, even when redriving a redrive. */
  redriven: string;
  items: number;
}

export async function planRedrive(ledger: Ledger, batchId: string): Promise<RedrivePlan> {
  const record = await ledger.batch(batchId);
  if (!record) {
    throw new CliError(`no batch "${batchId}" in this ledger; check the batch id, or set WAYMARK_DATA_DIR to the worker's data dir`);
  }
  if (!record.manifest) {
    throw new CliError(`batch "${batchId}" has not finished yet; redrive it once it has (\`waymark status ${batchId} --watch\`)`);
  }
  const original = parseBatchSpec(record.spec);
  const redriven = original.redriveOf ?? batchId;
  const target = batchId === redriven ? record : await ledger.batch(redriven);
  const manifest = target?.manifest as BatchManifest | undefined;
  if (!manifest) throw new CliError(`batch "${redriven}", which "${batchId}" redrove, is not in this ledger`);
  const items = manifest.failed + manifest.pending;
  if (items === 0) {
    throw new CliError(`batch "${redriven}" has no failed or pending items; there is nothing to redrive`);
  }
  return { spec: { ...original, redriveOf: redriven }, redriven, items };
}

export function redriveBatchId(redriven: string, now = new Date()): string {
  return `${redriven}-redrive-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}
