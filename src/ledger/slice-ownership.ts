/**
 * Slice ownership: one attempt of a slice at a time may commit to it, and the item an attempt
 * had in flight when it stopped is remembered for the next one.
 */

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

export interface SliceOwnership {
  /**
   * Makes `owner` (one slice attempt) the only one allowed to commit to the slice, clears the
   * in-flight mark and returns the item the previous attempt had in flight. An attempt the server gave up on may still be
   * running (a worker cut off from the server); from here on its commits and marks, which
   * name its own owner, fail with LeaseLostError and change nothing.
   */
  claimSlice(batchId: string, sliceStart: number, owner: string): Promise<InterruptedItem | null>;
  /** Records the item a slice attempt is about to start, before its first item. */
  markInFlight(batchId: string, sliceStart: number, index: number | null, owner?: string): Promise<void>;
  /**
   * Records that this attempt stopped with `index` cut short by a cancellation (pause, a lost
   * slice, a stop): the next attempt redoes it, which counts as redone but not as a crash.
   */
  markCutShort(batchId: string, sliceStart: number, index: number, owner: string): Promise<void>;
  /** The in-flight item a slice's previous attempt left behind, or null. */
  inFlight(batchId: string, sliceStart: number): Promise<number | null>;
  /**
   * Asks the slice's attempt, running or about to start, to stop at its next item boundary and
   * hand the rest back cut into `pieces` slices. The slice need not have been claimed yet.
   */
  requestSplit(batchId: string, sliceStart: number, pieces: number): Promise<void>;
  /**
   * Takes the split asked of the slice, if any: into how many slices. Taken once, so the
   * slices it is cut into, one of which may start where it did, are not asked too.
   */
  takeSplitRequest(batchId: string, sliceStart: number): Promise<number | null>;
}
