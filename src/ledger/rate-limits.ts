/**
 * Named rate limits (INVARIANTS.md I13): one token bucket per key, kept in the ledger so that
 * every worker and every batch that names the key draws from the same bucket. Each take is one
 * transaction; the bucket's arithmetic is in rate-limit-bucket.ts, the same for every backend.
 */

/** A key's rate as a batch spec declares it: `limit` items (or units) per `periodMs`, plus `burst`. */
export interface RateLimitRate {
  limit: number;
  periodMs: number;
  burst: number;
  /**
   * A usage unit the processor reports (e.g. tokens), counted when each item ends; absent: items,
   * counted as they start. A key counts one unit: the ledger keeps it as `KEY/UNIT`.
   */
  unit?: string;
}

/** What one take got. Times are the ledger's clock (epoch ms), so a caller waits `retryAt - now`. */
export interface TokenTake {
  /** Tokens granted, from 0 up to what was asked. */
  granted: number;
  /** The ledger's clock at the take. */
  now: number;
  /** The granted tokens start items until now + useWithinMs; any left after that are dropped. */
  useWithinMs: number;
  /** When nothing was granted: when the next token is due (the end of a hold, or the next refill). */
  retryAt?: number;
  /** Set while a quota signal holds the key: nothing is granted before this time. */
  heldUntil?: number;
  /** The rate the key runs at (the strictest one declared, see docs/quotas-and-budgets.md "Staying under a quota"). */
  rate: RateLimitRate;
}

/** A key as `waymark limits` shows it. */
export interface RateLimitState {
  key: string;
  rate: RateLimitRate;
  /** Whole tokens a take could get now. */
  tokens: number;
  /** Until when a quota signal holds the key, when it does now. */
  heldUntil?: number;
  /** The batch that declared the rate in force, and when it last did. */
  declaredBy: string;
  declaredAt: number;
}

export interface RateLimits {
  /**
   * Takes up to `wanted` tokens from `key`'s bucket, declaring `rate` for it on behalf of
   * `batchId` (the key is created with it, or the rates are reconciled, see rate-limit-bucket.ts
   * `reconcileRate`). `now` is for tests with a fake clock; by default the ledger's clock.
   */
  takeTokens(key: string, wanted: number, rate: RateLimitRate, batchId: string, now?: number): Promise<TokenTake>;
  /**
   * A quota signal from the API: no token of `key` is granted for `forMs` from now, and the
   * bucket restarts empty after that. A longer hold extends one in force; a shorter one changes
   * nothing. A key no batch has declared yet is created with `rate`. Returns the hold's end.
   */
  holdRateLimit(key: string, forMs: number, rate: RateLimitRate, batchId: string, now?: number): Promise<number>;
  /**
   * A usage unit's key (`rate.unit`): charges what an item used, once it has ended. The bucket
   * may go below empty; no item starts until the refill has brought it above (takeTokens).
   */
  chargeUsage(key: string, amount: number, rate: RateLimitRate, batchId: string, now?: number): Promise<void>;
  /** Every key, by name, with its tokens at `now` (default the ledger's clock). */
  rateLimits(now?: number): Promise<RateLimitState[]>;
}
