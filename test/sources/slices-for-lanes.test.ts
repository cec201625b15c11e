/**
 * Slices sized for the lanes: a window of W items is cut into at least min(C, W) slices of at
 * most S items, by every source kind alike; a window the plain cut already spreads over every
 * lane keeps it.
 */
import * as path from 'node:path';
import { planForLanes } from '../../src/activities/plan-window';
import { parseBatchSpec, type SourceSpec } from '../../src/contract/batch-spec';
import { openSource } from '../../src/sources/open-source';
import { sliceSizesForLanes, slicesForShares } from '../../src/sources/window-planner';
import { laneShares } from '../../src/contract/lanes';
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

/**
 * Runs a cut as the workflow launches it: the shares' slices start at once, and each slice that
 * ends hands its lanes to the next in the list. A slice takes count / lanes item-times. Returns
 * when each slice ended, in item-times.
 */
function simulate(cut: { sizes: number[]; lanes: number[] }, shares: number): number[] {
  const running: { end: number }[] = [];
  const ends: number[] = [];
  let next = 0;
  let now = 0;
  const launch = () => running.push({ end: now + cut.sizes[next] / cut.lanes[next++] });
  while (next < shares && next < cut.sizes.length) launch();
  while (running.length > 0) {
    running.sort((a, b) => a.end - b.end);
    now = running.shift()!.end;
    ends.push(now);
    if (next < cut.sizes.length) launch();
  }
  return ends;
}

describe('slicesForShares', () => {
  it('cuts a window of 100,000 items at C = 1,000 into chains that hand over one share at a time, and end together', () => {
    const shares = laneShares(1000);
    const cut = slicesForShares(100_000, 1000, shares);
    expect(cut.sizes.reduce((a, b) => a + b)).toBe(100_000);
    expect(Math.max(...cut.sizes)).toBeLessThanOrEqual(1000);
    expect(cut.lanes.every((lanes) => shares.includes(lanes))).toBe(true);
    const ends = simulate(cut, shares.length);
    const window = Math.max(...ends);
    // Every lane works to the window's end: 100 items a lane, whatever the cut.
    expect(window).toBeLessThan(100 * 1.02);
    // Before the window's end, no more than two slices end within the same item-time: cut in
    // rounds, all 31 slices of a round ended at once, three times in the window.
    const handOvers = ends.filter((end) => end < window - 1);
    expect(handOvers.length).toBeGreaterThanOrEqual(3 * shares.length);
    for (const end of handOvers) expect(handOvers.filter((e) => Math.abs(e - end) < 0.5).length).toBeLessThanOrEqual(2);
  });

  it('keeps whole rounds when a round has few slices: 24 lanes in three slices of 8, 50 items each', () => {
    const cut = slicesForShares(1200, 50, laneShares(24));
    expect(cut.sizes).toEqual(Array(24).fill(50));
    expect(cut.lanes).toEqual(Array(24).fill(8));
  });

  it('keeps a window of one round one slice a share, in proportion to its lanes', () => {
    const cut = slicesForShares(2000, 1000, laneShares(500));
    expect(cut.sizes).toEqual([...Array(4).fill(68), ...Array(27).fill(64)]);
    expect(cut.lanes).toEqual([...Array(4).fill(17), ...Array(27).fill(16)]);
  });

  it('never cuts a slice larger than S, and covers the window, whatever W and C', () => {
    for (const w of [1, 7, 99, 1001, 4096, 33_333, 100_000]) {
      for (const c of [9, 64, 257, 1000]) {
        for (const s of [1, 10, 1000]) {
          const cut = slicesForShares(w, s, laneShares(c));
          expect(cut.sizes.reduce((a, b) => a + b)).toBe(w);
          expect(Math.max(...cut.sizes)).toBeLessThanOrEqual(s);
          expect(Math.min(...cut.sizes)).toBeGreaterThanOrEqual(1);
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
