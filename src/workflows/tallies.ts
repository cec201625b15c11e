/**
 * The batch's counters. A slice stopped by a quota wait has committed part of its items; they
 * count now (INVARIANTS.md I12) and are replaced, not added to, by the slice's tally when it finishes.
 */
import type { Checkpoint } from '../contract/checkpoint';
import type { SliceTally } from '../contract/slices';

import type { CommittedCounts as Counts } from '../contract/slices';

export class Tallies {
  /** Counters of finished slices, this run's and those of the runs before it. */
  readonly finished: SliceTally;
  /** By the first index of the slice. */
  private readonly quotaStopped = new Map<number, SliceTally>();

  constructor(checkpoint?: Checkpoint) {
    this.finished = {
      succeeded: checkpoint?.succeeded ?? 0,
      failed: checkpoint?.failed ?? 0,
      redone: checkpoint?.redone ?? 0,
      failedByType: { ...checkpoint?.failedByType },
      heartbeats: checkpoint?.heartbeats ?? 0,
    };
  }

  get failedByType(): Record<string, number> {
    return this.finished.failedByType ?? {};
  }

  sliceFinished(sliceStart: number, tally: SliceTally): void {
    this.quotaStopped.delete(sliceStart);
    const into = this.finished;
    into.succeeded += tally.succeeded;
    into.failed += tally.failed;
    into.redone += tally.redone;
    into.heartbeats! += tally.heartbeats ?? 0;
    for (const [type, n] of Object.entries(tally.failedByType ?? {})) into.failedByType![type] = (into.failedByType![type] ?? 0) + n;
  }

  sliceStoppedForQuota(sliceStart: number, tally: SliceTally): void {
    this.quotaStopped.set(sliceStart, tally);
    // Heartbeats are the attempt's own, not the slice's so far: spent, whatever the slice does next.
    this.finished.heartbeats! += tally.heartbeats ?? 0;
  }

  /** Counts of the finished slices alone. */
  finishedCounts(): Counts {
    const { succeeded, failed, redone } = this.finished;
    return { succeeded, failed, redone };
  }

  /** Partial tallies of the slices stopped by a quota wait, by their first index. */
  partials(): Record<string, Counts> {
    const out: Record<string, Counts> = {};
    for (const [start, { succeeded, failed, redone }] of this.quotaStopped) out[start] = { succeeded, failed, redone };
    return out;
  }

  committed(): Counts {
    const sum = { succeeded: this.finished.succeeded, failed: this.finished.failed, redone: this.finished.redone };
    for (const t of this.quotaStopped.values()) {
      sum.succeeded += t.succeeded;
      sum.failed += t.failed;
      sum.redone += t.redone;
    }
    return sum;
  }
}

/** Field by field the larger: both are counts of committed outcomes, so the larger is the fresher. */
/** Counts of two disjoint ranges of items, together. */
export function addCounts(a: Counts, b: Counts): Counts {
  return { succeeded: a.succeeded + b.succeeded, failed: a.failed + b.failed, redone: a.redone + b.redone };
}

export function maxCounts(a: Counts, b: Counts | undefined): Counts {
  if (b === undefined) return { succeeded: a.succeeded, failed: a.failed, redone: a.redone };
  return { succeeded: Math.max(a.succeeded, b.succeeded), failed: Math.max(a.failed, b.failed), redone: Math.max(a.redone, b.redone) };
}
