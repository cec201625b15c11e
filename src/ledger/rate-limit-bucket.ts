/**
 * The arithmetic of a rate-limit key's token bucket, the same for every ledger backend: each
 * backend locks the key's row, applies one of these functions and writes the row back, all in
 * one transaction. Pure: the clock is an argument.
 *
 * The promise (INVARIANTS.md I13): in every half-open window [t, t + period), items started
 * under the key by all workers together are at most limit + burst. A worker may take a block of
 * tokens at once and start items with them for a short while after (`useWithinMs`), which would
 * let a block taken just before a window spend its tokens inside it. So the bucket gives up
 * that much: it holds at most `burst + 1 - slack` tokens, where `slack` = rate x useWithinMs.
 * Then the takes in any window of period + useWithinMs are fewer than
 * (burst + 1 - slack) + rate x (period + useWithinMs) = limit + burst + 1, hence at most limit + burst,
 * and every item started in [t, t + period) used a token taken in [t - useWithinMs, t + period).
 */
import type { RateLimitRate, RateLimitState, TokenTake } from './rate-limits';

/** A block's tokens are used within at most this long: a dropped block wastes little. */
const MAX_BLOCK_MS = 1000;
/** The most tokens one take grants. */
const MAX_BLOCK = 100;

/** A key's row in the ledger's rate_limits table, with times in epoch ms. */
export interface BucketRow {
  key: string;
  rate: RateLimitRate;
  /** Tokens (fractional) in the bucket at `updatedAt`. */
  level: number;
  updatedAt: number;
  heldUntil: number | null;
  declaredBy: string;
  declaredAt: number;
}

const perMs = (rate: RateLimitRate) => rate.limit / rate.periodMs;

/**
 * Refills add fractions (60 a minute is 0.001 a millisecond), and their sum can land a hair
 * under a whole token that is due: counts are taken with this tolerance, far below any token.
 */
const EPSILON = 1e-9;
const wholeTokens = (level: number) => Math.floor(level + EPSILON);

/**
 * Tokens of the burst set aside for blocks: half the burst, at most MAX_BLOCK_MS of the rate.
 * With no burst there is no slack, and every item takes a token of its own.
 */
function slack(rate: RateLimitRate): number {
  if (rate.unit !== undefined) return 0;
  return Math.min(rate.burst / 2, MAX_BLOCK - 1, perMs(rate) * MAX_BLOCK_MS);
}

/**
 * The most tokens the bucket holds. At least 1, since slack is at most half the burst. A usage
 * unit's bucket holds the burst (at least 1 unit, so that an empty burst still lets items start):
 * in any window of a period, the units charged are at most what it held at the window's start,
 * the period's refill, and what the items in flight as it began go on to charge:
 * limit + max(burst, 1) + items in flight x the most one item uses.
 */
export function capacity(rate: RateLimitRate): number {
  if (rate.unit !== undefined) return Math.max(rate.burst, 1);
  return rate.burst + 1 - slack(rate);
}

/** How long the tokens of one take may start items: the time the slack takes to refill. */
export function useWithinMs(rate: RateLimitRate): number {
  return Math.floor(slack(rate) / perMs(rate));
}

/** How many tokens a worker asks for at once: those it can use within useWithinMs at the full rate, and the first. */
export function blockSize(rate: RateLimitRate): number {
  return Math.min(wholeTokens(capacity(rate)), 1 + wholeTokens(slack(rate)));
}

/** The bucket's tokens at `now`; a clock that went back adds none. */
function levelAt(row: BucketRow, now: number): number {
  return Math.min(capacity(row.rate), row.level + Math.max(0, now - row.updatedAt) * perMs(row.rate));
}

/** True when `a` lets fewer items through than `b`: a lower rate, or the same rate with less burst. */
function stricter(a: RateLimitRate, b: RateLimitRate): boolean {
  const ra = perMs(a);
  const rb = perMs(b);
  return ra < rb || (ra === rb && a.burst < b.burst);
}

const sameRate = (a: RateLimitRate, b: RateLimitRate) => a.limit === b.limit && a.periodMs === b.periodMs && a.burst === b.burst;

/** A key's first row: a full bucket at the rate its first batch declared. */
export function newBucket(key: string, rate: RateLimitRate, batchId: string, now: number): BucketRow {
  return { key, rate, level: capacity(rate), updatedAt: now, heldUntil: null, declaredBy: batchId, declaredAt: now };
}

/**
 * Two batches that declare different rates for one key: the strictest wins. A batch declaring
 * the rate in force renews it; a stricter one replaces it at once; a laxer one replaces it only
 * once no batch has declared the rate in force for a whole period of it (its batches are done).
 */
export function reconcileRate(row: BucketRow, declared: RateLimitRate, batchId: string, now: number): BucketRow {
  const settled = { ...row, level: levelAt(row, now), updatedAt: Math.max(row.updatedAt, now) };
  if (sameRate(declared, row.rate)) return { ...settled, declaredBy: batchId, declaredAt: now };
  const expired = now - row.declaredAt >= row.rate.periodMs;
  if (!stricter(declared, row.rate) && !expired) return settled;
  return { ...settled, rate: declared, level: Math.min(settled.level, capacity(declared)), declaredBy: batchId, declaredAt: now };
}

/**
 * Takes up to `wanted` tokens (at most a block) from a row already reconciled at `now`. A usage
 * unit's bucket lets one item start while it is above empty, and takes nothing: the item's
 * usage is charged when it ends (chargeTo).
 */
export function takeFrom(row: BucketRow, wanted: number, now: number): { row: BucketRow; take: TokenTake } {
  const base = { now, useWithinMs: useWithinMs(row.rate), rate: row.rate };
  if (row.heldUntil !== null && row.heldUntil > now) {
    return { row, take: { ...base, granted: 0, retryAt: row.heldUntil, heldUntil: row.heldUntil } };
  }
  const level = levelAt(row, now);
  if (row.rate.unit !== undefined) {
    const settled = { ...row, level, updatedAt: Math.max(row.updatedAt, now) };
    if (level > EPSILON) return { row: settled, take: { ...base, granted: 1 } };
    return { row: settled, take: { ...base, granted: 0, retryAt: now + Math.max(1, Math.ceil((EPSILON - level) / perMs(row.rate))) } };
  }
  const granted = Math.max(0, Math.min(wanted, blockSize(row.rate), wholeTokens(level)));
  const after = { ...row, level: level - granted, updatedAt: Math.max(row.updatedAt, now) };
  if (granted > 0) return { row: after, take: { ...base, granted } };
  // The refill from `level` to one whole token, rounded up to the next millisecond.
  return { row: after, take: { ...base, granted: 0, retryAt: now + Math.max(1, Math.ceil((1 - level) / perMs(row.rate) - EPSILON)) } };
}

/**
 * A quota signal: nothing is granted until `now + forMs`, and the bucket then restarts empty,
 * refilling at its rate, so the API is not met with a burst the moment it allowed calls again.
 */
export function holdOn(row: BucketRow, forMs: number, now: number): BucketRow {
  const until = now + Math.max(0, forMs);
  if (row.heldUntil !== null && row.heldUntil >= until) return row;
  return { ...row, heldUntil: until, level: 0, updatedAt: until };
}

/** What an item used of a usage unit, charged once it has ended: the level may go below empty. */
export function chargeTo(row: BucketRow, amount: number, now: number): BucketRow {
  return { ...row, level: levelAt(row, now) - Math.max(0, amount), updatedAt: Math.max(row.updatedAt, now) };
}

/** A row as `waymark limits` shows it. */
export function stateAt(row: BucketRow, now: number): RateLimitState {
  const held = row.heldUntil !== null && row.heldUntil > now;
  return {
    key: row.key,
    rate: row.rate,
    tokens: held ? 0 : Math.max(0, wholeTokens(levelAt(row, now))),
    ...(held ? { heldUntil: row.heldUntil! } : {}),
    declaredBy: row.declaredBy,
    declaredAt: row.declaredAt,
  };
}
