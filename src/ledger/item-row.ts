import type { ItemStatus, StoredOutcome } from './ledger';

/** An `items` row as both ledgers store it (result as JSON text, times in epoch ms). */
export interface ItemRow {
  batch_id: string;
  idx: number;
  status: ItemStatus;
  result: string | null;
  error_type: string | null;
  error_message: string | null;
  attempts: number;
  /** The item's usage as JSON text; the column came with migration `usage` and is null before it. */
  usage?: string | null;
  started_at: number;
  finished_at: number;
}

export function toOutcome(row: ItemRow): StoredOutcome {
  return {
    batchId: row.batch_id,
    index: row.idx,
    status: row.status,
    result: row.result === null ? undefined : JSON.parse(row.result),
    errorType: row.error_type ?? undefined,
    errorMessage: row.error_message ?? undefined,
    attempts: row.attempts,
    ...(row.usage ? { usage: JSON.parse(row.usage) as StoredOutcome['usage'] } : {}),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
