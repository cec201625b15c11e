/**
 * What a redrive takes from the batch it redrives (`spec.redriveOf`): that batch's source, and
 * the rule that a redrive leaves alone what already succeeded there. It re-runs failed and
 * pending items only. For a batch that is no redrive, each function here is the identity.
 */
import type { Ledger } from '../ledger/ledger';
import type { BatchSpec } from '../contract/batch-spec';
import type { BatchManifest } from '../contract/activity-io';
import type { SliceBounds } from '../contract/slices';

/** The batch whose source (and folder snapshot) is read: a redrive reads the one it redrives. */
export function sourceBatchId(batchId: string, spec: BatchSpec): string {
  return spec.redriveOf ?? batchId;
}

/** Indexes in [from, to) that succeeded in the batch this one redrives: a redrive leaves them alone. */
export async function succeededBefore(ledger: Ledger, spec: BatchSpec, from: number, to: number): Promise<number[]> {
  return spec.redriveOf ? ledger.committedIndexes(spec.redriveOf, from, to, 'succeeded') : [];
}

/** How many items succeeded in the batch this one redrives: they are not part of the redrive's total. */
export async function succeededBeforeCount(ledger: Ledger, spec: BatchSpec): Promise<number> {
  return spec.redriveOf ? (await ledger.totals(spec.redriveOf)).succeeded : 0;
}

/** A redrive skips the slices whose items all succeeded in the batch it redrives. */
export async function slicesWithWorkLeft(ledger: Ledger, spec: BatchSpec, slices: SliceBounds[]): Promise<SliceBounds[]> {
  if (!spec.redriveOf) return slices;
  const kept: SliceBounds[] = [];
  for (const slice of slices) {
    const { succeeded } = await ledger.tally(spec.redriveOf, slice.start, slice.start + slice.count);
    if (succeeded < slice.count) kept.push(slice);
  }
  return kept;
}

/** The item count of the source: the redriven batch's, from its manifest; for a plain batch, `total`. */
export async function sourceLength(ledger: Ledger, spec: BatchSpec, total: number): Promise<number> {
  if (!spec.redriveOf) return total;
  const redriven = (await ledger.batch(spec.redriveOf))?.manifest as BatchManifest | undefined;
  return redriven?.total ?? total;
}
