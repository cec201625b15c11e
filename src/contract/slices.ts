/**
 * Positions, slices and their tallies: the numbers that cross workflow history in place of
 * items (INVARIANTS.md I1). Types only, so workflow code can import them.
 */

/** Where the next window starts: the index of its first item and that item's byte offset. */
export interface SourcePosition {
  index: number;
  offset: number;
}

/** One slice of consecutive items: [start, start + count), bytes [startOffset, endOffset). */
export interface SliceBounds {
  start: number;
  count: number;
  startOffset: number;
  endOffset: number;
  /** The lanes the slice was cut for (src/contract/lanes.ts); absent from plans without lanes in slices. */
  lanes?: number;
}

export interface WindowPlan {
  slices: SliceBounds[];
  /** Position right after the last planned item. */
  next: SourcePosition;
  /** True when the source has no items past `next`. */
  exhausted: boolean;
}

export interface SliceTally {
  succeeded: number;
  failed: number;
  /** Re-executions of items that an interruption caught in flight, within the slice. */
  redone: number;
  /** Failed items by error type. */
  failedByType?: Record<string, number>;
  /** Heartbeats the slice's attempts recorded (Temporal Cloud actions); absent from workers older than the count. */
  heartbeats?: number;
}

/** Committed outcomes of a range of items: what progress counts (INVARIANTS.md I12). */
export type CommittedCounts = Pick<SliceTally, 'succeeded' | 'failed' | 'redone'>;

/**
 * What `processSlice` heartbeats: the first index of the slice not yet committed and, since
 * progress counts commits rather than finished slices (I12), the slice's committed tally so far.
 * Heartbeat details cost no history events; clients read them from the pending activities of
 * `describe()`. The tally fields are optional: heartbeats of older workers carry the cursor only.
 */
export interface SliceHeartbeat {
  cursor: number;
  /** First index of the slice, to match the tally with the workflow's own tally of that slice. */
  sliceStart?: number;
  /** Outcomes committed in the slice so far, by every attempt. */
  succeeded?: number;
  failed?: number;
  redone?: number;
  /** Items the attempt had running at the heartbeat: the lanes in use. */
  lanes?: number;
}
