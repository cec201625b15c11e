/**
 * The arithmetic of a lane pool (lane-pools.ts), the same for every ledger backend: how many
 * lanes the batches of one scope (a batch, or a rate-limit key that batches share) may run
 * between them, how that number moves, and how it is shared out.
 *
 * How the lanes move (docs/quotas-and-budgets.md "Lanes found by themselves"; the rules are
 * those of TCP's congestion control and Netflix's AIMD limiter, field research section 3):
 * - Slow start, until the first cut: from MIN, each item that succeeds at its first attempt, with every lane busy and
 *   started at the pool's current lanes, adds a lane; at most doubling per step.
 * - A quota signal cuts the lanes to CUT_FACTOR of what they were (never below MIN) and marks
 *   where the limit was met: the ceiling. Only the first signal of items started before the cut
 *   cuts: the other lanes in flight then met the same limit.
 * - Below the ceiling, a window of clean items (as many as the lanes) adds one lane. One lane
 *   under the ceiling the lanes stay for the probe wait (PROBE_AFTER_MS at first), then try the
 *   ceiling again, so a limit that rose is found.
 * - A quota signal at the ceiling is a probe that failed: the limit is where it was, so the lanes go
 *   back to one under it (not a cut to CUT_FACTOR) and the wait before the next probe doubles, up
 *   to PROBE_AFTER_MAX_MS. Each probe costs a refused request and the batch's hold for its
 *   Retry-After: at one under a rate limit that is what a batch loses most (issue #24, case (b)).
 * - PROBE_WINDOWS windows clean at the ceiling forget it (a limit that rose), and each window adds
 *   a lane until the next signal. One window is not enough: a rate limit lets a few lanes more
 *   through for a moment, until its period's requests run out.
 *
 * Lanes grow only while the pool's slices want more lanes than they have.
 *
 * Each change of the lanes is a new `version`, and a slice counts an item toward growth only if it
 * started at the version it reports: no clock of one machine is compared with another's.
 */
import type { LaneCut, LaneRange } from '../contract/adaptive-concurrency';

export type { LaneCut } from '../contract/adaptive-concurrency';

/** What the lanes keep of themselves at a quota signal. */
export const CUT_FACTOR = 0.75;
/** How long lanes one under a new ceiling wait before they try it again. */
export const PROBE_AFTER_MS = 15_000;
/** The longest wait before a probe, after probes of the same ceiling failed again and again. */
export const PROBE_AFTER_MAX_MS = 120_000;
/** Windows of clean items at the ceiling that show the limit rose. */
export const PROBE_WINDOWS = 4;
/** A holder (a running slice) that has not reported this long is gone: its lanes go to the others. */
export const HOLDER_TTL_MS = 10_000;

/** One pool as the ledger keeps it. */
export interface LanePoolRow {
  scope: string;
  /** The lanes the pool's holders may run between them. */
  lanes: number;
  /** Grows with every change of `lanes`. */
  version: number;
  /** Lanes at the last quota signal, until a clean window at them forgets it; null in slow start. */
  ceiling: number | null;
  /** Clean items counted toward the next lane at this version. */
  clean: number;
  /** When `lanes` last changed (the ledger's clock): the wait below the ceiling counts from here. */
  changedAt: number;
  /** How long the lanes wait one under the ceiling before they try it again. */
  probeAfterMs: number;
  cuts: number;
  lastCut: LaneCut | null;
}

/** A running slice of a batch in the pool. */
export interface LaneHolderRow {
  scope: string;
  holder: string;
  batchId: string;
  sliceStart: number;
  /** Lanes it could use now: those the workflow gave it, or fewer when fewer items are left. */
  want: number;
  /** Its batch's bounds. */
  min: number;
  max: number;
  seenAt: number;
}

/** What a running slice tells its pool, twice a second and at once on a quota signal. */
export interface LaneReport {
  holder: string;
  batchId: string;
  sliceStart: number;
  want: number;
  range: LaneRange;
  /** The pool's version the clean items started at (the version of its last grant). */
  version: number;
  /** Items that succeeded at their first attempt, with every lane of the slice busy, started at `version`. */
  clean: number;
  /** A quota signal, met by an item started when the pool had made `cuts` cuts. */
  signal?: { cuts: number; cause: string };
  /** The slice is returning: its lanes go to the others at once. */
  done?: boolean;
}

/** What the pool answers a report. */
export interface LaneGrant {
  /** Lanes the slice may run now. */
  granted: number;
  /** Lanes of its batch, every running slice of it. */
  batchLanes: number;
  /** Lanes of the pool, every batch of the scope. */
  poolLanes: number;
  version: number;
  cuts: number;
  ceiling: number | null;
  lastCut: LaneCut | null;
  /** True when this report's signal cut the lanes. */
  cut: boolean;
}

export interface PoolChange {
  pool: LanePoolRow;
  /** The reporter's row to write, or undefined to delete it (a slice that returned). */
  holder: LaneHolderRow | undefined;
  /** Holders gone silent, to delete. */
  expired: string[];
  grant: LaneGrant;
}

export function newPool(scope: string, start: number, now: number): LanePoolRow {
  return { scope, lanes: start, version: 0, ceiling: null, clean: 0, changedAt: now, probeAfterMs: PROBE_AFTER_MS, cuts: 0, lastCut: null };
}

/** Applies a slice's report to its pool: a cut, growth, its row, and its share of the lanes. */
export function applyReport(
  scope: string,
  stored: LanePoolRow | undefined,
  holders: LaneHolderRow[],
  report: LaneReport,
  now: number,
): PoolChange {
  const expired = holders.filter((h) => h.seenAt < now - HOLDER_TTL_MS && h.holder !== report.holder).map((h) => h.holder);
  const holder: LaneHolderRow | undefined = report.done
    ? undefined
    : {
        scope,
        holder: report.holder,
        batchId: report.batchId,
        sliceStart: report.sliceStart,
        want: Math.max(0, report.want),
        min: report.range.min,
        max: report.range.max,
        seenAt: now,
      };
  const live = holders.filter((h) => h.holder !== report.holder && !expired.includes(h.holder));
  if (holder !== undefined) live.push(holder);
  const bounds = poolBounds(live, report.range);
  let pool = stored ?? newPool(scope, bounds.min, now);
  pool = { ...pool, lanes: clamp(pool.lanes, bounds) };
  let cut = false;
  if (report.signal !== undefined && report.signal.cuts >= pool.cuts) {
    pool = cutPool(pool, bounds, report.signal.cause, now);
    cut = true;
  } else if (report.clean > 0 && report.version === pool.version && demand(live) > pool.lanes) {
    pool = grow(pool, report.clean, bounds, now);
  }
  const shares = share(pool.lanes, live);
  const batchLanes = live.filter((h) => h.batchId === report.batchId).reduce((sum, h) => sum + (shares.get(h.holder) ?? 0), 0);
  return {
    pool,
    holder,
    expired,
    grant: {
      granted: holder === undefined ? 0 : (shares.get(holder.holder) ?? 0),
      batchLanes,
      poolLanes: pool.lanes,
      version: pool.version,
      cuts: pool.cuts,
      ceiling: pool.ceiling,
      lastCut: pool.lastCut,
      cut,
    },
  };
}

/**
 * The pool's lanes stay between the sum of its batches' MINs (each batch keeps its MIN) and the
 * sum of their MAXes (no batch runs more than its MAX).
 */
function poolBounds(live: LaneHolderRow[], reporter: LaneRange): LaneRange {
  const byBatch = new Map<string, LaneRange>();
  for (const h of live) byBatch.set(h.batchId, { min: h.min, max: h.max });
  if (byBatch.size === 0) return reporter;
  let min = 0;
  let max = 0;
  for (const range of byBatch.values()) {
    min += range.min;
    max += range.max;
  }
  return { min, max };
}

function clamp(lanes: number, bounds: LaneRange): number {
  return Math.min(bounds.max, Math.max(bounds.min, lanes));
}

function demand(live: LaneHolderRow[]): number {
  return live.reduce((sum, h) => sum + h.want, 0);
}

function changed(pool: LanePoolRow, lanes: number, now: number): LanePoolRow {
  return { ...pool, lanes, version: pool.version + 1, clean: 0, changedAt: now };
}

/** The lanes are trying their ceiling again: a probe. */
function atCeiling(pool: LanePoolRow): boolean {
  return pool.ceiling !== null && pool.lanes >= pool.ceiling;
}

function cutPool(pool: LanePoolRow, bounds: LaneRange, cause: string, now: number): LanePoolRow {
  const probeFailed = atCeiling(pool);
  const to = clamp(probeFailed ? pool.ceiling! - 1 : Math.floor(pool.lanes * CUT_FACTOR), bounds);
  return {
    ...changed(pool, to, now),
    ceiling: probeFailed ? pool.ceiling : pool.lanes,
    probeAfterMs: probeFailed ? Math.min(pool.probeAfterMs * 2, PROBE_AFTER_MAX_MS) : PROBE_AFTER_MS,
    cuts: pool.cuts + 1,
    lastCut: { at: now, from: pool.lanes, to, cause },
  };
}

function grow(pool: LanePoolRow, clean: number, bounds: LaneRange, now: number): LanePoolRow {
  if (pool.lanes >= bounds.max) return pool;
  // Slow start lasts until the first cut; after it, growth is a lane per window.
  if (pool.cuts === 0) return changed(pool, clamp(pool.lanes + Math.min(clean, pool.lanes), bounds), now);
  const probing = atCeiling(pool);
  const window = probing ? PROBE_WINDOWS * pool.lanes : pool.lanes;
  // Waiting under the ceiling, the count stops at a window: what matters then is the time.
  const counted = { ...pool, clean: Math.min(pool.clean + clean, window) };
  if (counted.clean < window) return counted;
  if (pool.ceiling === null || probing) return { ...changed(pool, pool.lanes + 1, now), ceiling: null, probeAfterMs: PROBE_AFTER_MS };
  if (pool.lanes + 1 < pool.ceiling || now - pool.changedAt >= pool.probeAfterMs) return changed(pool, pool.lanes + 1, now);
  return counted;
}

/**
 * The lanes of each holder: the pool's lanes shared evenly among its batches (no batch more than
 * it wants or its MAX, none less than its MIN while it wants that many), and within a batch to its
 * slices in index order, so the slice the cursor waits on runs first.
 */
export function share(lanes: number, live: LaneHolderRow[]): Map<string, number> {
  const batches = new Map<string, LaneHolderRow[]>();
  for (const h of live) batches.set(h.batchId, [...(batches.get(h.batchId) ?? []), h]);
  const wants = new Map([...batches].map(([batchId, hs]) => [batchId, Math.min(hs[0].max, demand(hs))]));
  const given = new Map([...batches.keys()].map((batchId) => [batchId, 0]));
  let left = lanes;
  for (;;) {
    const open = [...batches.keys()].filter((b) => given.get(b)! < wants.get(b)!).sort();
    if (open.length === 0 || left <= 0) break;
    const each = Math.max(1, Math.floor(left / open.length));
    for (const b of open) {
      const more = Math.min(each, wants.get(b)! - given.get(b)!, left);
      given.set(b, given.get(b)! + more);
      left -= more;
    }
  }
  const shares = new Map<string, number>();
  for (const [batchId, hs] of batches) {
    let batchLeft = Math.max(given.get(batchId)!, Math.min(hs[0].min, wants.get(batchId)!));
    for (const h of [...hs].sort((a, b) => a.sliceStart - b.sliceStart)) {
      const lanesOfSlice = Math.min(h.want, batchLeft);
      shares.set(h.holder, lanesOfSlice);
      batchLeft -= lanesOfSlice;
    }
  }
  return shares;
}

/** A batch's lane samples are at least this far apart, but for those of cuts. */
export const SAMPLE_EVERY_MS = 1000;

/** Whether a report's answer is a new sample of its batch's lanes: at a cut, and when they changed, at most once a second. */
export function sampleDue(last: { at: number; lanes: number; poolLanes: number } | undefined, grant: LaneGrant, now: number): boolean {
  if (grant.cut || last === undefined) return true;
  if (last.lanes === grant.batchLanes && last.poolLanes === grant.poolLanes) return false;
  return now - last.at >= SAMPLE_EVERY_MS;
}
