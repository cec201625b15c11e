import type { ItemStatus, OutcomeTimes, StoredOutcome } from './ledger';

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

/** The columns of an `items` row that OutcomeTimes holds, in this order. */
export const OUTCOME_TIMES_COLUMNS = 'idx, status, error_type, error_message, usage, started_at, finished_at';

/** A row of OUTCOME_TIMES_COLUMNS, read as an array (no object per row until this one). */
export function toOutcomeTimes(row: unknown[]): OutcomeTimes {
  const [index, status, errorType, errorMessage, usage, startedAt, finishedAt] = row as [
    number,
    ItemStatus,
    string | null,
    string | null,
    string | null,
    number,
    number,
  ];
  // Built field by field: object spreads here cost a second per million rows.
  const outcome: OutcomeTimes = { index, status, startedAt, finishedAt };
  if (errorType !== null) outcome.errorType = errorType;
  if (errorMessage !== null) outcome.errorMessage = errorMessage;
  if (usage) outcome.usage = JSON.parse(usage) as OutcomeTimes['usage'];
  return outcome;
}
