/**
 * The merge step of a redrive, run when the redrive finalizes: its outcomes are folded into the
 * batch it redrove (the ledger's `mergeRedrive`) and that batch's manifest is rewritten, so
 * exporting the original shows the final state.
 */
import type { BatchManifest } from '../contract/activity-io';
import { gaps, writeManifest, type ManifestDeps } from '../activities/manifest';

export async function mergeIntoRedriven(deps: ManifestDeps, redriveId: string, redrivenId: string): Promise<void> {
  const { ledger } = deps;
  await ledger.mergeRedrive(redriveId, redrivenId);
  const record = await ledger.batch(redrivenId);
  const before = record?.manifest as BatchManifest | undefined;
  if (!record || !before) return;
  const totals = await ledger.totals(redrivenId);
  const processed = totals.succeeded + totals.failed;
  const pendingRanges = before.total > processed ? gaps(await ledger.committedIndexes(redrivenId, 0, before.total), before.total) : [];
  const after: BatchManifest = {
    ...before,
    status: pendingRanges.length === 0 ? 'completed' : before.status,
    succeeded: totals.succeeded,
    failed: totals.failed,
    pending: before.total - processed,
    pendingRanges,
    redrives: [...(before.redrives ?? []), redriveId],
  };
  if (after.status === 'completed') delete after.stopReason;
  await writeManifest(deps, redrivenId, record.spec, after);
}
