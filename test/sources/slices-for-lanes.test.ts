/**
 * Slices sized for the lanes: a window of W items is cut into at least min(C, W) slices of at
 * most S items, by every source kind alike; a window the plain cut already spreads over every
 * lane keeps it.
 */
import * as path from 'node:path';
import { planForLanes } from '../../src/activities/plan-window';
import { parseBatchSpec, type SourceSpec } from '../../src/contract/batch-spec';
import { openSource } from '../../src/sources/open-source';
import { sliceSizesForLanes } from '../../src/sources/window-planner';
import { readAll, removeTempDirs, tempDir, writeTemp } from './helpers';

afterAll(removeTempDirs);

describe('sliceSizesForLanes', () => {
  it('cuts a window shorter than C x S into C slices whose sizes differ by one item at most', () => {
    expect(sliceSizesForLanes(200, 1000, 8)).toEqual(Array(8).fill(25));
    expect(sliceSizesForLanes(2000, 1000, 64)).toEqual([...Array(16).fill(32), ...Array(48).fill(31)]);
  });

  it('gives a window of fewer items than C one slice per item', () => {
    expect(sliceSizesForLanes(3, 1000, 8)).toEqual([1, 1, 1]);
  });

  it('cuts a window whose last round would leave lanes idle into whole rounds of C slices', () => {
    // 20 slices of 1,000 on 16 lanes: 12 lanes would idle through a second round of 4.
    expect(sliceSizesForLanes(20_000, 1000, 16)).toEqual(Array(32).fill(625));
    // 4 slices on 4 lanes, but the last of 500: three lanes would work twice as long as the fourth.
    expect(sliceSizesForLanes(3500, 1000, 4)).toEqual(Array(4).fill(875));
    expect(sliceSizesForLanes(3500, 1000, 5)).toEqual(Array(5).fill(700));
    // Fewer items than whole rounds of slices would need: one item a slice.
    expect(sliceSizesForLanes(20, 1, 16)).toBeUndefined();
    expect(sliceSizesForLanes(21, 2, 8)).toEqual([...Array(5).fill(2), ...Array(11).fill(1)]);
  });

  it('keeps the plain cut, aligned to S, when every lane gets the same work from it, and for one lane', () => {
    expect(sliceSizesForLanes(100_000, 1000, 4)).toBeUndefined();
    expect(sliceSizesForLanes(8000, 1000, 8)).toBeUndefined();
    expect(sliceSizesForLanes(2500, 1000, 1)).toBeUndefined();
    expect(sliceSizesForLanes(0, 1000, 4)).toBeUndefined();
  });

  it('never cuts a slice larger than S, whatever W and C', () => {
    for (const w of [1, 7, 99, 1001, 4096, 33_333]) {
      for (const c of [1, 2, 3, 8, 64]) {
        for (const s of [1, 10, 1000]) {
          const sizes = sliceSizesForLanes(w, s, c);
          if (sizes === undefined) continue;
          expect(sizes.reduce((a, b) => a + b)).toBe(w);
          expect(Math.max(...sizes)).toBeLessThanOrEqual(s);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          // Whole rounds of min(C, W) slices, unless there are too few items for them.
          expect(sizes.length % Math.min(c, w) === 0 || sizes.length === w).toBe(true);
        }
      }
    }
  });
});

describe('planForLanes: every file source kind cuts a short window for the lanes', () => {
  const dir = tempDir();
  const lines = Array.from({ length: 200 }, (_, n) => ({ n, name: `item ${n} é`.repeat((n % 3) + 1) }));
  const sources: [string, SourceSpec][] = [
    ['jsonl', { kind: 'jsonl', path: writeTemp(dir, 'items.jsonl', lines.map((l) => JSON.stringify(l)).join('\n') + '\n') }],
    ['text', { kind: 'text', path: writeTemp(dir, 'items.txt', lines.map((l) => l.name).join('\n') + '\n') }],
    ['csv', { kind: 'csv', path: writeTemp(dir, 'items.csv', 'n,name\n' + lines.map((l) => `${l.n},"${l.name}"`).join('\n') + '\n') }],
    ['folder', { kind: 'folder', path: path.dirname(writeTemp(tempDir(), 'files/a', '')) }],
  ];
  for (let i = 0; i < 199; i++) writeTemp(sources[3][1].path, `f${String(i).padStart(3, '0')}`, String(i));

  it.each(sources)('%s: 200 items, C = 8, default S: 8 slices of 25, contiguous, every item read once', async (_kind, sourceSpec) => {
    const spec = parseBatchSpec({ source: sourceSpec, processor: { name: 'noop' }, concurrency: 8 });
    const source = openSource(spec.source, { dataDir: tempDir(), batchId: `lanes-${_kind}` });
    const plan = await planForLanes(source, spec, { index: 0, offset: 0 }, spec.checkpointEvery);
    expect(plan.slices.map((s) => s.count)).toEqual(Array(8).fill(25));
    expect(plan.next.index).toBe(200);
    expect(plan.exhausted).toBe(true);
    let index = 0;
    for (const [i, slice] of plan.slices.entries()) {
      expect(slice.start).toBe(index);
      if (i > 0) expect(slice.startOffset).toBe(plan.slices[i - 1].endOffset);
      const read = await readAll(source, slice);
      expect(read.map((item) => item.index)).toEqual(Array.from({ length: 25 }, (_, j) => index + j));
      index += slice.count;
    }
    expect(plan.next.offset).toBe(plan.slices[7].endOffset);
  });

  it('cuts a window in the middle of the source the same way, ending where the plain cut ends', async () => {
    const spec = parseBatchSpec({
      source: sources[0][1],
      processor: { name: 'noop' },
      concurrency: 4,
      sliceSize: 50,
      checkpointEvery: 150,
    });
    const source = openSource(spec.source, { dataDir: tempDir(), batchId: 'lanes-middle' });
    const first = await planForLanes(source, spec, { index: 0, offset: 0 }, 150);
    const plain = await source.planWindow({ index: 0, offset: 0 }, 150, 50);
    expect(first.slices.map((s) => s.count)).toEqual([38, 38, 37, 37]);
    expect(first.next).toEqual(plain.next);
    expect(first.exhausted).toBe(false);
    const last = await planForLanes(source, spec, first.next, 150);
    expect(last.slices.map((s) => s.count)).toEqual([13, 13, 12, 12]);
    expect(last.exhausted).toBe(true);
  });
});
