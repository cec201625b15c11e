/**
 * Slice ownership: one attempt of a slice at a time may commit to it, and the item an attempt
 * had in flight when it stopped is remembered for the next one.
 */

/**
 * The items a slice's previous attempt left in flight, and why they did not finish: every item of
 * [index, to) without an outcome. An attempt starts its items in index order, so those are exactly
 * the items it started (or was about to start) and did not commit. `to` is absent for one item.
 */
export interface InterruptedItem {
  index: number;
  to?: number;
  /** `crash`: the attempt died with it; `cut-short`: a cancellation stopped it midway. */
  cause: 'crash' | 'cut-short';
}

/**
 * What a slice attempt may have in flight: the items of [from, to) without an outcome. `from` is
 * the first item the attempt started and `to` one past the last it marked, so a range marked
 * once covers the many items its lanes run at once. A number n is the one item [n, n + 1).
 */
export type InFlight = number | { from: number; to: number } | null;

/** The range an InFlight names, or null when nothing is in flight. */
export function inFlightRange(inFlight: InFlight): { from: number; to: number } | null {
  if (inFlight === null) return null;
  return typeof inFlight === 'number' ? { from: inFlight, to: inFlight + 1 } : inFlight;
}

/** The InterruptedItem a stored range names. */
export function interruptedItem(from: number, to: number | null, cutShort: boolean): InterruptedItem {
  const end = to ?? from + 1;
  return { index: from, ...(end > from + 1 ? { to: end } : {}), cause: cutShort ? 'cut-short' : 'crash' };
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
  /** Records the items a slice attempt is about to start, before it starts them. */
  markInFlight(batchId: string, sliceStart: number, inFlight: InFlight, owner?: string): Promise<void>;
  /**
   * Records that this attempt stopped with the items of `inFlight` cut short by a cancellation
   * (pause, a lost slice, a stop): the next attempt redoes them, which counts as redone but not as a crash.
   */
  markCutShort(batchId: string, sliceStart: number, inFlight: InFlight, owner: string): Promise<void>;
  /** The first in-flight item a slice's previous attempt left behind, or null. */
  inFlight(batchId: string, sliceStart: number): Promise<number | null>;
}
