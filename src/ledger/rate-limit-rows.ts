/**
 * The rate_limits table as both ledgers read and write it (see RateLimits). Parameters are
 * numbered in the order they appear, so the SQLite ledger can turn each `$n` into `?`.
 */
import type { BucketRow } from './rate-limit-bucket';

/** A key's row; `lim` because LIMIT is a keyword. */
export interface RateLimitDbRow {
  key: string;
  lim: number;
  period_ms: number;
  burst: number;
  level: number;
  updated_at: number;
  held_until: number | null;
  declared_by: string;
  declared_at: number;
}

const COLUMNS = 'key, lim, period_ms, burst, level, updated_at, held_until, declared_by, declared_at';

/** Creates a key's row unless it exists; the caller then locks and reads it. */
export const INSERT_BUCKET = `INSERT INTO rate_limits (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING`;

export const SELECT_BUCKET = `SELECT ${COLUMNS} FROM rate_limits WHERE key = $1`;

export const SELECT_BUCKETS = `SELECT ${COLUMNS} FROM rate_limits ORDER BY key`;

export const UPDATE_BUCKET = `UPDATE rate_limits SET lim = $1, period_ms = $2, burst = $3, level = $4, updated_at = $5,
  held_until = $6, declared_by = $7, declared_at = $8 WHERE key = $9`;

/** A usage unit's key is stored as `KEY/UNIT` (a key has no `/`), so that one key counts one unit. */
export function ledgerKey(key: string, unit: string | undefined): string {
  return unit === undefined ? key : `${key}/${unit}`;
}

export function toBucketRow(row: RateLimitDbRow): BucketRow {
  const unit = row.key.includes('/') ? row.key.slice(row.key.indexOf('/') + 1) : undefined;
  return {
    key: row.key,
    rate: { limit: row.lim, periodMs: row.period_ms, burst: row.burst, ...(unit !== undefined ? { unit } : {}) },
    level: row.level,
    updatedAt: row.updated_at,
    heldUntil: row.held_until,
    declaredBy: row.declared_by,
    declaredAt: row.declared_at,
  };
}

export function insertParams(row: BucketRow): unknown[] {
  return [
    row.key,
    row.rate.limit,
    row.rate.periodMs,
    row.rate.burst,
    row.level,
    row.updatedAt,
    row.heldUntil,
    row.declaredBy,
    row.declaredAt,
  ];
}

/** UPDATE_BUCKET takes the insert's values with the key moved last, to its WHERE. */
export function updateParams(row: BucketRow): unknown[] {
  const [key, ...values] = insertParams(row);
  return [...values, key];
}
