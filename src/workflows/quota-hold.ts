/**
 * The batch's wait for quota (INVARIANTS.md I7): a slice stopped for quota holds every slice of
 * the batch until the latest time any of them was told, and the key behind the latest wait is
 * what status and the Web UI name.
 */
import type { ProcessSliceResult } from '../contract/activity-io';
import type { BatchProgress } from '../contract/messages';

type QuotaStop = Extract<ProcessSliceResult, { outcome: 'quota' }>;

export class QuotaHold {
  private until: number | undefined;
  private on: Pick<BatchProgress, 'pacedOn' | 'heldOn'> = {};

  /** What is left of the wait, 0 when the batch is not held. */
  get remainingMs(): number {
    return this.until !== undefined && this.until > Date.now() ? this.until - Date.now() : 0;
  }

  hold(stop: QuotaStop): void {
    const until = Date.now() + stop.retryAfterMs;
    // Reads optional fields of the result into the state shown; no command, so no patch: runs
    // recorded before them replay the same (a result without them leaves `on` empty).
    if (until >= (this.until ?? 0)) {
      this.on = { ...(stop.pacedOn && { pacedOn: stop.pacedOn }), ...(stop.heldOn && { heldOn: stop.heldOn }) };
    }
    this.until = Math.max(this.until ?? 0, until);
  }

  /** The wait as status shows it while the batch waits for quota. */
  shown(): Pick<BatchProgress, 'quotaUntil' | 'pacedOn' | 'heldOn'> {
    return { quotaUntil: this.until, ...this.on };
  }
}
