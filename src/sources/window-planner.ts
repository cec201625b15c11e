import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';
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
  sliceSize: number,
  itemEnds: AsyncIterable<readonly { end: number }[]>,
  exhaustedAt?: (offset: number) => boolean,
): Promise<WindowPlan> {
  if (!Number.isSafeInteger(maxItems) || maxItems < 0) throw new RangeError(`maxItems must be a whole number >= 0, got ${maxItems}`);
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1) throw new RangeError(`sliceSize must be a whole number >= 1, got ${sliceSize}`);

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
      if (inSlice === sliceSize) {
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
