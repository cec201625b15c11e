/**
 * How C lanes (items in flight) map onto slice activities (INVARIANTS.md I15). A slice runs many
 * items at once, so slice activities, heartbeats and worker slots do not grow with C: at most
 * MAX_SLICES_IN_FLIGHT slices of a batch run at once, each with LANES_PER_SLICE lanes or more.
 * A slice of few lanes costs more heartbeats per item (a heartbeat is a Temporal Cloud action);
 * a batch of few slices spreads over fewer workers. Deterministic: the workflow runs it.
 */

/** Lanes a slice takes at least, once C is larger: a batch spreads over ceil(C / 8) workers at most, up to 32. */
export const LANES_PER_SLICE = 8;
/** Slice activities of one batch in flight at most, whatever C: worker slots and heartbeats stay bounded. */
export const MAX_SLICES_IN_FLIGHT = 32;

/** The lanes each slice of a batch of `concurrency` lanes takes when it launches. */
export function lanesPerSlice(concurrency: number): number {
  if (concurrency <= LANES_PER_SLICE) return concurrency;
  return Math.max(LANES_PER_SLICE, Math.ceil(concurrency / MAX_SLICES_IN_FLIGHT));
}

/**
 * The lanes of each slice of a round, when every lane has work: C split into as many slices of
 * lanesPerSlice(C) as fit, the rest spread over them one lane each (the larger shares first). A
 * window is cut in proportion (window-planner.ts): each share runs a chain of slices that ends with
 * the window, and from 16 shares on the chains hand over at staggered points.
 */
export function laneShares(concurrency: number): number[] {
  const slices = Math.max(1, Math.floor(concurrency / lanesPerSlice(concurrency)));
  const small = Math.floor(concurrency / slices);
  const larger = concurrency % slices;
  return Array.from({ length: slices }, (_, i) => (i < larger ? small + 1 : small));
}
