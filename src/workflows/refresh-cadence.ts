/**
 * How often the workflow reads the ledger's committed counts while slices run (INVARIANTS.md I12),
 * for the Web UI's current details and search attributes. Each read is about three Temporal Cloud
 * actions (its timer, its local activity, an upsert), so with lanes in slices the reads keep
 * pace with the batch instead of the clock (I15): once every REFRESH_ITEMS items at the rate the
 * last reads saw, within [MIN, MAX]. A fast batch shows its counts every 20 s; one of slow
 * items, whose counts move slowly, every few minutes, at the same cost per item.
 */

/** The first read, and the most often the counts are read. */
const MIN_MS = 20_000;
/** The least often: the Web UI's counts are never older than this while slices run. */
const MAX_MS = 300_000;
/** Items committed between two reads, at the rate seen: about 8 actions per 1,000 items at most. */
const REFRESH_ITEMS = 400;
/** Runs recorded before lanes in slices read every 25 s. */
const LEGACY_MS = 25_000;

export class RefreshCadence {
  private last: { at: number; committed: number } | undefined;
  private rate: number | undefined;

  constructor(private readonly paced: boolean) {}

  /** Milliseconds to wait before the next read. */
  interval(): number {
    if (!this.paced) return LEGACY_MS;
    if (this.rate === undefined) return MIN_MS;
    if (this.rate <= 0) return MAX_MS;
    return Math.min(MAX_MS, Math.max(MIN_MS, Math.round((REFRESH_ITEMS / this.rate) * 1000)));
  }

  /** What a read found: the rate since the read before sets the next interval. */
  observe(at: number, committed: number): void {
    const last = this.last;
    if (last !== undefined && at > last.at) this.rate = (committed - last.committed) / ((at - last.at) / 1000);
    this.last = { at, committed };
  }
}
