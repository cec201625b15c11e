/**
 * A batch id names one batch forever (INVARIANTS.md I11): the first window of a batch claims its id in the
 * ledger for the workflow chain that runs it, and a workflow of another chain under the same id
 * (`temporal workflow start` over a finished batch) is refused before it reads or writes anything.
 */
import type { BatchManifest } from '../contract/activity-io';
import type { BatchRecord, Ledger } from '../ledger/ledger';

/** The batch id belongs to an earlier batch; no retry can change that. */
export class BatchIdReusedError extends Error {
  override name = 'BatchIdReused';
}

/** Claims `batchId` for the chain `identity` (its firstExecutionRunId), or throws BatchIdReusedError. */
export async function claimBatchId(ledger: Ledger, batchId: string, identity: string, spec: unknown): Promise<void> {
  const claim = await ledger.claimBatch(batchId, identity, spec);
  if (claim.claimed) return;
  throw new BatchIdReusedError(
    `batch id ${batchId} already names an earlier batch (${describeEarlier(claim.earlier)}); a batch id names one batch forever, so this workflow ran nothing and changed nothing. ` +
      `Start it under a new workflow id, e.g. ${batchId}-2; the earlier batch's outcomes stay in the ledger, \`waymark export ${batchId}\` reads them.`,
  );
}

function describeEarlier(record: BatchRecord): string {
  const manifest = record.manifest as Partial<BatchManifest> | undefined;
  const source = (record.spec as { source?: { path?: unknown } } | undefined)?.source?.path;
  const parts: string[] = [];
  if (manifest?.startedAt) parts.push(`started ${manifest.startedAt}`);
  else if (record.claimedAt !== undefined) parts.push(`started ${new Date(record.claimedAt).toISOString()}`);
  if (manifest?.status) {
    parts.push(
      `${manifest.status} ${manifest.finishedAt ? `${manifest.finishedAt} ` : ''}with ${manifest.succeeded ?? 0} succeeded, ${manifest.failed ?? 0} failed`,
    );
  } else {
    parts.push('not finished');
  }
  if (typeof source === 'string') parts.push(`source ${source}`);
  return parts.join(', ');
}
