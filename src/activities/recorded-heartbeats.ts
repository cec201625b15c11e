/**
 * The heartbeats the SDK records for an attempt, counted as it throttles them: a call sends at
 * once when none went out for a throttle interval, and otherwise waits for the interval's end,
 * when the latest details go out; a pending one is dropped when the attempt returns. Each
 * recorded heartbeat is a Temporal Cloud action, and the count is the batch's share of its
 * orchestration cost (INVARIANTS.md I15) that no history holds.
 */

/** The worker's `maxHeartbeatThrottleInterval` (the SDK's default): throttling never waits longer. */
const MAX_THROTTLE_MS = 60_000;
/** The SDK's throttle: 0.8 x the heartbeat timeout, at most MAX_THROTTLE_MS. */
const THROTTLE_SHARE = 0.8;

export class RecordedHeartbeats {
  count = 0;
  private readonly throttleMs: number;
  private sentAt = Number.NEGATIVE_INFINITY;
  private pending = false;

  constructor(heartbeatTimeoutMs: number) {
    this.throttleMs = Math.min(heartbeatTimeoutMs * THROTTLE_SHARE, MAX_THROTTLE_MS);
  }

  called(now = performance.now()): void {
    this.settle(now);
    if (now - this.sentAt >= this.throttleMs) {
      this.count++;
      this.sentAt = now;
    } else this.pending = true;
  }

  /** The count once the attempt returns at `now`: a call still waiting for its interval never went out. */
  settle(now = performance.now()): number {
    if (this.pending && now >= this.sentAt + this.throttleMs) {
      this.count++;
      this.sentAt += this.throttleMs;
      this.pending = false;
    }
    return this.count;
  }
}
