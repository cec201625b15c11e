/** The batches table as both ledgers read and claim it (see BatchRecords.claimBatch). */
import type { BatchRecord } from './batch-records';

/**
 * One statement, so the claim is atomic on either store: it inserts the record, or takes it over
 * when the identity matches or an older release left it unfinished without one; otherwise it
 * changes nothing and returns no row. Parameters: batch id, spec JSON, identity, now (epoch ms).
 */
export const CLAIM_BATCH = `INSERT INTO batches (batch_id, spec, identity, claimed_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (batch_id) DO UPDATE SET spec = excluded.spec, identity = excluded.identity, claimed_at = coalesce(batches.claimed_at, excluded.claimed_at)
  WHERE batches.identity = excluded.identity OR (batches.identity IS NULL AND batches.manifest IS NULL)
  RETURNING batch_id`;

export interface BatchRow {
  spec: string;
  manifest: string | null;
  identity: string | null;
  claimed_at: number | null;
}

export function toBatchRecord(batchId: string, row: BatchRow): BatchRecord {
  return {
    batchId,
    spec: JSON.parse(row.spec),
    ...(row.manifest === null ? {} : { manifest: JSON.parse(row.manifest) }),
    ...(row.identity === null ? {} : { identity: row.identity }),
    ...(row.claimed_at === null ? {} : { claimedAt: row.claimed_at }),
  };
}
