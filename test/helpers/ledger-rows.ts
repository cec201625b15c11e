import type { ItemStatus, Ledger, StoredOutcome } from '../../src/ledger/ledger';

/** Every outcome row of a batch (or only those of one status), in index order. */
export async function allOutcomes(ledger: Ledger, batchId: string, status?: ItemStatus): Promise<StoredOutcome[]> {
  const rows: StoredOutcome[] = [];
  for await (const row of ledger.outcomes(batchId, status)) rows.push(row);
  return rows;
}
