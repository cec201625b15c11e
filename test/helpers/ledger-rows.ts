import type { ItemStatus, Ledger, StoredOutcome } from '../../src/ledger/ledger';

/** Every outcome row of a batch (or only those of one status), in index order. */
export async function allOutcomes(ledger: Ledger, batchId: string, status?: ItemStatus): Promise<StoredOutcome[]> {
  const rows: StoredOutcome[] = [];
  for await (const row of ledger.outcomes(batchId, status)) rows.push(row);
  return rows;
}

/** The most items of `rows` in flight at one moment, by their start and finish times in the ledger. */
export function mostItemsAtOnce(rows: readonly Pick<StoredOutcome, 'startedAt' | 'finishedAt'>[]): number {
  // A finish sorts before a start at the same millisecond: an item that ends as another begins is not both in flight.
  const edges = rows.flatMap((r) => [
    { at: r.startedAt, step: 1 },
    { at: r.finishedAt, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let most = 0;
  for (const e of edges) {
    open += e.step;
    most = Math.max(most, open);
  }
  return most;
}
