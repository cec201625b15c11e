import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Source, SourceItem } from '../../src/sources/source';
import type { SliceBounds, WindowPlan } from '../../src/contract/slices';

const made: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-sources-'));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made; each test file calls it from afterAll. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function writeTemp(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

export async function readAll(source: Source, slice: SliceBounds): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.readSlice(slice)) items.push(item);
  return items;
}

/**
 * Plans the whole source window by window, each from the previous plan's `next`, reads every
 * slice, and checks the shape of each plan on the way: slices of exactly `sliceSize` items but
 * the last, contiguous in index and byte offset, each window continuing where the last stopped.
 */
export async function planAndReadAll(
  source: Source,
  windowSize: number,
  sliceSize: number,
): Promise<{ items: SourceItem[]; plans: WindowPlan[] }> {
  const items: SourceItem[] = [];
  const plans: WindowPlan[] = [];
  let from = { index: 0, offset: 0 };
  for (;;) {
    const plan = await source.planWindow(from, windowSize, sliceSize);
    plans.push(plan);
    let index = from.index;
    plan.slices.forEach((slice, i) => {
      expect(slice.start).toBe(index);
      if (i < plan.slices.length - 1) expect(slice.count).toBe(sliceSize);
      else expect(slice.count).toBeLessThanOrEqual(sliceSize);
      if (i > 0) expect(slice.startOffset).toBe(plan.slices[i - 1].endOffset);
      expect(slice.endOffset).toBeGreaterThan(slice.startOffset);
      index += slice.count;
    });
    expect(plan.next.index).toBe(index);
    expect(index - from.index).toBeLessThanOrEqual(windowSize);
    if (plan.slices.length > 0) expect(plan.next.offset).toBe(plan.slices[plan.slices.length - 1].endOffset);
    for (const slice of plan.slices) {
      const read = await readAll(source, slice);
      expect(read.map((item) => item.index)).toEqual(Array.from({ length: slice.count }, (_, i) => slice.start + i));
      items.push(...read);
    }
    if (plan.exhausted) return { items, plans };
    expect(plan.next.index - from.index).toBe(windowSize);
    from = plan.next;
  }
}

/** Each item's value, or `{ parseError }` for an item that could not be read. */
export function values(items: SourceItem[]): unknown[] {
  return items.map((item) => (item.parseError !== undefined ? { parseError: item.parseError } : item.value));
}
