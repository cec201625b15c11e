/**
 * The lane pool tables as both ledgers read and write them (see LanePools). Parameters are
 * numbered in the order they appear, so the SQLite ledger can turn each `$n` into `?`.
 */
import type { LaneHolderRow, LanePoolRow } from './lane-pool-state';
import type { LaneSample, LaneView } from './lane-pools';

export interface LanePoolDbRow {
  scope: string;
  lanes: number;
  version: number;
  ceiling: number | null;
  clean: number;
  changed_at: number;
  probe_after_ms: number;
  cuts: number;
  cut_at: number | null;
  cut_from: number | null;
  cut_to: number | null;
  cut_cause: string | null;
}

export interface LaneHolderDbRow {
  scope: string;
  holder: string;
  batch_id: string;
  slice_start: number;
  want: number;
  min_lanes: number;
  max_lanes: number;
  seen_at: number;
}

export interface LaneSampleDbRow {
  at: number;
  lanes: number;
  pool_lanes: number;
  cut_cause: string | null;
}

const POOL_COLUMNS = 'scope, lanes, version, ceiling, clean, changed_at, probe_after_ms, cuts, cut_at, cut_from, cut_to, cut_cause';
const HOLDER_COLUMNS = 'scope, holder, batch_id, slice_start, want, min_lanes, max_lanes, seen_at';

/** The pool's row, to lock (PostgreSQL adds FOR UPDATE) before its holders are read. */
export const SELECT_POOL = `SELECT ${POOL_COLUMNS} FROM lane_pools WHERE scope = $1`;
export const SELECT_HOLDERS = `SELECT ${HOLDER_COLUMNS} FROM lane_holders WHERE scope = $1`;

export const UPSERT_POOL = `INSERT INTO lane_pools (${POOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (scope) DO UPDATE SET lanes = excluded.lanes, version = excluded.version, ceiling = excluded.ceiling,
  clean = excluded.clean, changed_at = excluded.changed_at, probe_after_ms = excluded.probe_after_ms, cuts = excluded.cuts, cut_at = excluded.cut_at,
  cut_from = excluded.cut_from, cut_to = excluded.cut_to, cut_cause = excluded.cut_cause`;

/** A scope's first pool row, unless another slice's report wrote it first. */
export const INSERT_NEW_POOL = `INSERT INTO lane_pools (${POOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (scope) DO NOTHING`;

export const UPSERT_HOLDER = `INSERT INTO lane_holders (${HOLDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (scope, holder) DO UPDATE SET batch_id = excluded.batch_id, slice_start = excluded.slice_start,
  want = excluded.want, min_lanes = excluded.min_lanes, max_lanes = excluded.max_lanes, seen_at = excluded.seen_at`;

export const DELETE_HOLDER = 'DELETE FROM lane_holders WHERE scope = $1 AND holder = $2';

export const LAST_SAMPLE = 'SELECT at, lanes, pool_lanes, cut_cause FROM lane_samples WHERE batch_id = $1 ORDER BY at DESC LIMIT 1';

/** A cut and a change in the same millisecond make one sample, which keeps the cut's cause. */
export const INSERT_SAMPLE = `INSERT INTO lane_samples (batch_id, at, lanes, pool_lanes, cut_cause) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (batch_id, at) DO UPDATE SET lanes = excluded.lanes, pool_lanes = excluded.pool_lanes,
  cut_cause = coalesce(excluded.cut_cause, lane_samples.cut_cause)`;

export const SELECT_SAMPLES = 'SELECT at, lanes, pool_lanes, cut_cause FROM lane_samples WHERE batch_id = $1 ORDER BY at';

export function toPoolRow(row: LanePoolDbRow): LanePoolRow {
  return {
    scope: row.scope,
    lanes: row.lanes,
    version: row.version,
    ceiling: row.ceiling,
    clean: row.clean,
    changedAt: row.changed_at,
    probeAfterMs: row.probe_after_ms,
    cuts: row.cuts,
    lastCut: row.cut_at === null ? null : { at: row.cut_at, from: row.cut_from ?? 0, to: row.cut_to ?? 0, cause: row.cut_cause ?? 'quota' },
  };
}

export function poolParams(p: LanePoolRow): unknown[] {
  const cut = p.lastCut;
  return [
    p.scope,
    p.lanes,
    p.version,
    p.ceiling,
    p.clean,
    p.changedAt,
    p.probeAfterMs,
    p.cuts,
    cut?.at ?? null,
    cut?.from ?? null,
    cut?.to ?? null,
    cut?.cause ?? null,
  ];
}

export function toHolderRow(row: LaneHolderDbRow): LaneHolderRow {
  return {
    scope: row.scope,
    holder: row.holder,
    batchId: row.batch_id,
    sliceStart: row.slice_start,
    want: row.want,
    min: row.min_lanes,
    max: row.max_lanes,
    seenAt: row.seen_at,
  };
}

export function holderParams(h: LaneHolderRow): unknown[] {
  return [h.scope, h.holder, h.batchId, h.sliceStart, h.want, h.min, h.max, h.seenAt];
}

export function toSample(row: LaneSampleDbRow): LaneSample {
  return { at: row.at, lanes: row.lanes, poolLanes: row.pool_lanes, ...(row.cut_cause !== null ? { cutCause: row.cut_cause } : {}) };
}

/** A pool as one of its batches sees it: the batch's lanes are those of its last sample. */
export function toView(pool: LanePoolRow, last: LaneSampleDbRow | undefined): LaneView {
  return {
    poolLanes: pool.lanes,
    batchLanes: last?.lanes ?? 0,
    cuts: pool.cuts,
    ...(pool.lastCut !== null ? { lastCut: pool.lastCut } : {}),
  };
}
