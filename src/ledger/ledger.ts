/**
 * The ledger: the durable, per-item record of outcomes, keyed by (batch id, item index).
 * It is the source of truth for what is done; workflow counters and cursors only follow it.
 * Activities see this interface only, so another store (PostgreSQL) can stand behind it.
 */
import type { SliceTally } from '../contract/slices';

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

export interface BatchRecord {
  batchId: string;
  spec: unknown;
  manifest?: unknown;
}

/** The item a slice's previous attempt left in flight, and why it did not finish. */
export interface InterruptedItem {
  index: number;
  /** `crash`: the attempt died with it; `cut-short`: a cancellation stopped it midway. */
  cause: 'crash' | 'cut-short';
}

/** A newer attempt of the slice has claimed it: this attempt must stop. */
export class LeaseLostError extends Error {
  constructor(batchId: string, sliceStart: number) {
    super(`slice ${sliceStart} of batch ${batchId} was claimed by a newer attempt; this attempt stops`);
    this.name = 'LeaseLostError';
  }
}

export interface Ledger {
  /**
   * Commits outcomes in one transaction, together with the slice's next in-flight item
   * (null when the slice has nothing left). An index that is already committed keeps its
   * first outcome (I3): a second commit of it changes nothing.
   */
  commit(batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], nextInFlight: number | null, owner?: string): Promise<void>;
  /** Records the item a slice attempt is about to start, before its first item. */
  markInFlight(batchId: string, sliceStart: number, index: number | null, owner?: string): Promise<void>;
  /**
   * Makes `owner` (one slice attempt) the only one allowed to commit to the slice, clears the
   * in-flight mark and returns the item the previous attempt had in flight. An attempt the server gave up on may still be
   * running (a worker cut off from the server); from here on its commits and marks, which
   * name its own owner, fail with LeaseLostError and change nothing.
   */
  claimSlice(batchId: string, sliceStart: number, owner: string): Promise<InterruptedItem | null>;
  /**
   * Records that this attempt stopped with `index` cut short by a cancellation (pause, a lost
   * slice, a stop): the next attempt redoes it, which counts as redone but not as a crash.
   */
  markCutShort(batchId: string, sliceStart: number, index: number, owner: string): Promise<void>;
  /** Items in [from, to) that were in flight when a worker died at least once: the suspects. */
  interruptedIndexes(batchId: string, from: number, to: number): Promise<number[]>;
  /**
   * The batch-wide lease under which a suspect item runs alone among suspects, so that a crash
   * is charged to the item that caused it and not to a healthy suspect beside it. Expires
   * `ttlMs` after it was taken or renewed, so a holder that died releases it.
   */
  acquireSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<boolean>;
  renewSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<void>;
  releaseSuspectLease(batchId: string, owner: string): Promise<void>;
  /** The in-flight item a slice's previous attempt left behind, or null. */
  inFlight(batchId: string, sliceStart: number): Promise<number | null>;
  /**
   * Counts one interruption of `index`, which is about to be redone: a crash (it was in flight
   * when its worker died) or a cut-short item. Returns how many crashes the item has caused so
   * far, for poison detection; both kinds count as redone.
   */
  recordInterruption(batchId: string, index: number, cause?: InterruptedItem['cause']): Promise<number>;
  /** Indexes in [from, to) that already have an outcome (of `status`, if given), ascending. */
  committedIndexes(batchId: string, from: number, to: number, status?: ItemStatus): Promise<number[]>;
  /**
   * Folds a redrive batch's outcomes into the batch it redrove, in one transaction: an item's
   * new outcome replaces a failure and fills a pending item; a success is never overwritten.
   */
  mergeRedrive(redriveBatchId: string, intoBatchId: string): Promise<void>;
  /** Outcome counts and redone items over [from, to). */
  tally(batchId: string, from: number, to: number): Promise<SliceTally>;
  /** Outcome counts over the whole batch. */
  totals(batchId: string): Promise<SliceTally>;
  /** Outcomes in index order, optionally only one status; streamed so exports stay small in memory. */
  outcomes(batchId: string, status?: ItemStatus): AsyncIterable<StoredOutcome>;
  saveBatch(record: BatchRecord): Promise<void>;
  batch(batchId: string): Promise<BatchRecord | undefined>;
  close(): Promise<void>;
}
