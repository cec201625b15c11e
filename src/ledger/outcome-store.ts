/**
 * Outcomes: what became of each item, committed once (INVARIANTS.md I3) and read back as indexes, counts and rows.
 */
import type { SliceTally } from '../contract/slices';
import type { Usage } from '../contract/usage';
import type { InFlight } from './slice-ownership';

export type ItemStatus = 'succeeded' | 'failed';

export interface ItemOutcome {
  index: number;
  status: ItemStatus;
  /** JSON-serialisable result of a succeeded item. */
  result?: unknown;
  /** Failure class, e.g. `parse`, `timeout`, `exec-data-error`, `Error`. */
  errorType?: string;
  errorMessage?: string;
  attempts: number;
  /** What the item used, by unit, as its processor reported it; absent when it reported nothing. */
  usage?: Usage;
  /** Epoch milliseconds. */
  startedAt: number;
  finishedAt: number;
}

export interface StoredOutcome extends ItemOutcome {
  batchId: string;
}

/** An outcome on its way in: the result already serialised once, by the code that checked it is JSON. */
export interface OutcomeToCommit extends Omit<ItemOutcome, 'result'> {
  resultJson?: string;
}

/** An outcome without its result and attempts: what a report reads of every item. */
export type OutcomeTimes = Omit<ItemOutcome, 'result' | 'attempts'>;

export interface OutcomeStore {
  /**
   * Commits outcomes in one transaction, together with what the slice has in flight from then on
   * (null when nothing). An index that is already committed keeps its first outcome (I3): a
   * second commit of it changes nothing.
   */
  commit(batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], inFlight: InFlight, owner?: string): Promise<void>;
  /** Indexes in [from, to) that already have an outcome (of `status`, if given), ascending. */
  committedIndexes(batchId: string, from: number, to: number, status?: ItemStatus): Promise<number[]>;
  /** Outcome counts and redone items over [from, to). */
  tally(batchId: string, from: number, to: number): Promise<SliceTally>;
  /** Outcome counts over the whole batch. */
  totals(batchId: string): Promise<SliceTally>;
  /** The batch's usage summed per unit over its committed items, in one query; {} when none reported any. */
  usageTotals(batchId: string): Promise<Usage>;
  /**
   * What the batch's own commits used of `unit`, from a running total that each commit adds its
   * newly inserted items to, in the same transaction: one row read, for budget checks before
   * each item. Outcomes a redrive merged in are in usageTotals only.
   */
  usageOf(batchId: string, unit: string): Promise<number>;
  /** Outcomes in index order, optionally only one status; streamed so exports stay small in memory. */
  outcomes(batchId: string, status?: ItemStatus): AsyncIterable<StoredOutcome>;
  /**
   * Every outcome of the batch without its result, in index order, a page of rows at a time:
   * a report reads a million items in about two seconds.
   */
  outcomePages(batchId: string): AsyncIterable<OutcomeTimes[]>;
}
