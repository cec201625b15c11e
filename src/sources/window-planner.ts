import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

/**
 * How a window is cut: a number S cuts slices of S items (the last one short); a list cuts
 * slice i to `sizes[i]` items, the list's last size repeating past its end.
 */
export type SliceCut = number | readonly number[];

/** Items of slice `i` under `cut`. */
export function sliceSizeAt(cut: SliceCut, i: number): number {
  return typeof cut === 'number' ? cut : cut[Math.min(i, cut.length - 1)];
}

/** The cut is well formed: whole sizes >= 1, a list not empty. */
export function checkSliceCut(cut: SliceCut): void {
  const sizes = typeof cut === 'number' ? [cut] : cut;
  if (sizes.length === 0) throw new RangeError('a slice cut needs at least one size');
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`sliceSize must be a whole number >= 1, got ${size}`);
  }
}

/**
 * Slices sized for the lanes: a slice is the unit of parallelism, so a window cut into fewer
 * slices than C leaves lanes idle, and one cut into a number of slices that is not a multiple of
 * C, or into slices of unequal sizes, leaves lanes idle through its last round. Such a window is
 * cut into whole rounds instead: min(C, W) slices a round, as many rounds as the plain cut needs,
 * sizes differing by one item at most (never more than S). Returns undefined when the plain cut
 * into slices of `sliceSize` is balanced already: that cut stays, so slices start at multiples of
 * S wherever that costs no lane anything.
 */
export function sliceSizesForLanes(windowItems: number, sliceSize: number, concurrency: number): number[] | undefined {
  const lanes = Math.min(concurrency, windowItems);
  if (lanes <= 1) return undefined;
  const plain = Math.ceil(windowItems / sliceSize);
  if (plain % lanes === 0 && windowItems % sliceSize === 0) return undefined;
  const slices = Math.min(windowItems, Math.ceil(plain / lanes) * lanes);
  // Too few items for whole rounds, and the plain cut has one item a slice already.
  if (slices === plain && windowItems % sliceSize === 0) return undefined;
  return evenSizes(windowItems, slices);
}

/** Slices in a round from which their hand-overs are staggered: C = 128 and more (lanes.ts). */
const STAGGER_FROM = 16;

/**
 * Lanes in slices: each lane share (lanes.ts) runs a chain of slices through the window, with
 * items in proportion to its lanes, so that every chain ends with the window; as few rounds as
 * keep every slice within S items. Returns each slice's size and the lanes it is cut for, in the
 * order the slices are expected to start.
 *
 * The chains hand over at staggered points: chain i of n is cut i/n of a round later than chain
 * 0 (its first slice shorter, one slice more at its end). Cut at the same points, the slices of a
 * round all ended at once, and every lane of the batch waited while the workflow took their
 * results, one workflow task after another, and launched the next round: 300-400 ms of C = 1,000
 * lanes every round. Staggered, a hand-over holds one share of the lanes for one workflow task.
 * A round of fewer than STAGGER_FROM slices hands over in a task or two, so it keeps whole rounds
 * and its slices their places (a slice more per chain would only add activities).
 */
export function slicesForShares(windowItems: number, sliceSize: number, shares: readonly number[]): { sizes: number[]; lanes: number[] } {
  const lanes = shares.reduce((a, b) => a + b, 0);
  const widest = Math.max(...shares);
  const chainItems = proportionalSizes(windowItems, shares);
  // Rounding can leave a slice one item over S: one round more then.
  for (let rounds = Math.max(1, Math.ceil((windowItems * widest) / (lanes * sliceSize))); ; rounds++) {
    const slices = staggeredChains(chainItems, shares, rounds, shares.length >= STAGGER_FROM);
    if (slices.every((slice) => slice.size <= sliceSize)) return { sizes: slices.map((s) => s.size), lanes: slices.map((s) => s.lanes) };
  }
}

interface ChainSlice {
  size: number;
  lanes: number;
  /** Where in its chain the slice starts, as a share of the chain: when it is expected to start. */
  at: number;
  chain: number;
}

function staggeredChains(chainItems: readonly number[], shares: readonly number[], rounds: number, stagger: boolean): ChainSlice[] {
  const slices: ChainSlice[] = [];
  chainItems.forEach((items, chain) => {
    // A window of one round has no hand-over to stagger: a chain is one slice.
    const phase = stagger && rounds > 1 ? chain / chainItems.length : 0;
    let from = 0;
    for (let k = 0; k <= rounds; k++) {
      const to = k === rounds ? items : Math.floor((items * (k + phase)) / rounds);
      if (to <= from) continue;
      slices.push({ size: to - from, lanes: shares[chain], at: from / items, chain });
      from = to;
    }
  });
  return slices.sort((a, b) => a.at - b.at || a.chain - b.chain);
}

/** `items` split in proportion to `weights`, whole items, the remainders to the largest fractions first. */
function proportionalSizes(items: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (items * w) / total);
  const sizes = exact.map(Math.floor);
  let left = items - sizes.reduce((a, b) => a + b, 0);
  const byFraction = exact.map((x, i) => ({ i, fraction: x - Math.floor(x) })).sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of byFraction) {
    if (left === 0) break;
    sizes[i]++;
    left--;
  }
  return sizes;
}

/** `items` cut into `slices` sizes that differ by one item at most, the larger ones first. */
export function evenSizes(items: number, slices: number): number[] {
  const small = Math.floor(items / slices);
  const larger = items % slices;
  return Array.from({ length: slices }, (_, i) => (i < larger ? small + 1 : small));
}

/**
 * Cutting a window into slices, shared by every source: each source only supplies where each of
 * its items ends, in bytes, and the slice boundaries fall out of those ends.
 */

/**
 * Plans up to `maxItems` items from `from`, whose first item starts at byte `firstOffset`.
 * `itemEnds` yields batches of items in order, each with the byte offset just past it.
 * `exhausted` is exact, so no empty window follows the last one: a source that can tell from an
 * offset alone whether items remain past it passes `exhaustedAt` (a line file has more items
 * exactly when bytes remain, and a huge next line need not be scanned); otherwise `itemEnds`
 * is read one item past the window.
 */
export async function planFromItemEnds(
  from: SourcePosition,
  firstOffset: number,
  maxItems: number,
  cut: SliceCut,
  itemEnds: AsyncIterable<readonly { end: number }[]>,
  exhaustedAt?: (offset: number) => boolean,
): Promise<WindowPlan> {
  if (!Number.isSafeInteger(maxItems) || maxItems < 0) throw new RangeError(`maxItems must be a whole number >= 0, got ${maxItems}`);
  checkSliceCut(cut);

  const slices: SliceBounds[] = [];
  let planned = 0;
  let offset = firstOffset;
  let sliceStartOffset = firstOffset;
  let inSlice = 0;
  let sawMore = false;

  scan: for await (const items of itemEnds) {
    for (const item of items) {
      if (planned === maxItems) {
        sawMore = true;
        break scan;
      }
      planned++;
      inSlice++;
      offset = item.end;
      if (inSlice === sliceSizeAt(cut, slices.length)) {
        slices.push({ start: from.index + planned - inSlice, count: inSlice, startOffset: sliceStartOffset, endOffset: offset });
        sliceStartOffset = offset;
        inSlice = 0;
      }
      if (planned === maxItems && exhaustedAt) break scan;
    }
  }
  if (inSlice > 0) {
    slices.push({ start: from.index + planned - inSlice, count: inSlice, startOffset: sliceStartOffset, endOffset: offset });
  }
  return { slices, next: { index: from.index + planned, offset }, exhausted: exhaustedAt ? exhaustedAt(offset) : !sawMore };
}
