/**
 * Adaptive lanes as the workflow shows them (status, `--wait`, the Web UI). The lanes are found by
 * the slices and their pool in the ledger, not decided here: the workflow launches slices for MAX
 * and only hears of the lanes, from each slice that returns and from each read of the ledger's
 * counts (ledger-refresh.ts). What it heard is shown and never steers a command, so a history
 * replays the same whatever the lanes were.
 */
import {
  autoRange,
  laneScope,
  type AdaptiveLanesProgress,
  type AdaptiveLanesView,
  type Concurrency,
} from '../contract/adaptive-concurrency';

export class LanesFound {
  private heardLast: AdaptiveLanesView | undefined;

  constructor(
    private readonly batchId: string,
    private readonly spec: () => { concurrency: Concurrency; rateLimit?: { key: string } },
  ) {}

  /** The pool to read with the ledger's counts; undefined while the batch's concurrency is fixed. */
  get scope(): string | undefined {
    const { concurrency, rateLimit } = this.spec();
    return autoRange(concurrency) && laneScope(this.batchId, rateLimit?.key);
  }

  /** The lanes as a slice or the ledger last told them; nothing told (a fixed concurrency) changes nothing. */
  heard(view: AdaptiveLanesView | undefined): void {
    if (view !== undefined) this.heardLast = view;
  }

  /** For the batch's progress: the lanes with the batch's bounds, while its concurrency is adaptive and once heard of. */
  shown(): { adaptiveLanes?: AdaptiveLanesProgress } {
    const range = autoRange(this.spec().concurrency);
    return range && this.heardLast ? { adaptiveLanes: { ...range, ...this.heardLast } } : {};
  }
}
