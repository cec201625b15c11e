/**
 * How long an API that answered 429 or 503 asks us to wait, and the bounded backoff for one
 * that does not say.
 */

/** The shortest quota wait: a `Retry-After: 0` or a reset already past still waits this long. */
export const MIN_QUOTA_WAIT_MS = 1000;
/** 429/503 answers without a time that an item may wait out before they count as failed attempts. */
export const MAX_UNTIMED_QUOTA_WAITS = 5;
/** The first wait for a 429/503 without a time; each next one doubles (1, 2, 4, 8, 16 s). */
export const UNTIMED_QUOTA_WAIT_BASE_MS = 1000;
/** An item's count of untimed waits is forgotten after this long without another one. */
const UNTIMED_WAITS_FORGOTTEN_AFTER_MS = 10 * 60 * 1000;
/** Keys tracked at once; the oldest are dropped beyond it, so the map cannot grow without end. */
const MAX_TRACKED_KEYS = 10_000;
/** An X-RateLimit-Reset above this is a Unix time in seconds (GitHub's form), not a number of seconds to wait. */
const UNIX_SECONDS_AFTER = 1_000_000_000;

/**
 * The wait the headers give, in ms, and which header gave it: `Retry-After` (seconds or an
 * HTTP date), `RateLimit-Reset` (seconds), `RateLimit: ...; reset=N` (seconds), or
 * `X-RateLimit-Reset` (seconds, or a Unix time in seconds when above 10^9).
 */
export function quotaWaitFromHeaders(headers: Headers, now = Date.now()): { ms: number; header: string } | undefined {
  const found = rawWait(headers, now);
  return found === undefined ? undefined : { ms: Math.max(MIN_QUOTA_WAIT_MS, Math.ceil(found.ms)), header: found.header };
}

function rawWait(headers: Headers, now: number): { ms: number; header: string } | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return { ms: Number(retryAfter) * 1000, header: `Retry-After: ${retryAfter}` };
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return { ms: date - now, header: `Retry-After: ${retryAfter}` };
  }
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) return { ms: Number(reset) * 1000, header: `RateLimit-Reset: ${reset}` };
  const rateLimit = headers.get('ratelimit');
  const inRateLimit = rateLimit === null ? null : /(?:^|[;,\s])(?:reset|t)=(\d+)/.exec(rateLimit);
  if (inRateLimit !== null) return { ms: Number(inRateLimit[1]) * 1000, header: `RateLimit: ${rateLimit}` };
  const xReset = headers.get('x-ratelimit-reset')?.trim();
  if (xReset && /^\d+(\.\d+)?$/.test(xReset)) {
    const value = Number(xReset);
    return { ms: value > UNIX_SECONDS_AFTER ? value * 1000 - now : value * 1000, header: `X-RateLimit-Reset: ${xReset}` };
  }
  return undefined;
}

/**
 * Untimed 429/503 waits per idempotency key, in this worker process. After a quota wait the item
 * runs again as attempt 1, so the count cannot ride on the attempt number; it lives here, and
 * an item whose slice resumes on another worker starts counting afresh there (each worker still
 * bounds it). Any other answer for the key clears its count.
 */
export class UntimedQuotaWaits {
  private readonly waits = new Map<string, { count: number; lastAt: number }>();

  /** The next wait for this key in ms, or undefined when its waits are used up. */
  next(key: string, now = Date.now()): number | undefined {
    const previous = this.waits.get(key);
    const count = previous !== undefined && now - previous.lastAt < UNTIMED_WAITS_FORGOTTEN_AFTER_MS ? previous.count : 0;
    this.waits.delete(key);
    this.waits.set(key, { count: Math.min(count + 1, MAX_UNTIMED_QUOTA_WAITS + 1), lastAt: now });
    if (this.waits.size > MAX_TRACKED_KEYS) this.waits.delete(this.waits.keys().next().value as string);
    return count < MAX_UNTIMED_QUOTA_WAITS ? UNTIMED_QUOTA_WAIT_BASE_MS * 2 ** count : undefined;
  }

  clear(key: string): void {
    this.waits.delete(key);
  }
}
