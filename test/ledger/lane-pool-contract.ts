/**
 * What every ledger's lane pools must do (adaptive concurrency, src/ledger/lane-pools.ts), run by
 * sqlite-ledger.test.ts and postgres-ledger.test.ts against their own store, each time with two
 * ledgers on it, as two worker processes have. Time is a fake clock: each report is told its `now`.
 */
import type { Ledger, LaneReport } from '../../src/ledger/ledger';
import { laneScope } from '../../src/contract/adaptive-concurrency';
import type { LedgerStore } from './ledger-contract';

const T0 = Date.UTC(2030, 0, 1);

function report(batchId: string, sliceStart: number, extra: Partial<LaneReport> = {}): LaneReport {
  return { holder: `${batchId}/${sliceStart}`, batchId, sliceStart, want: 8, range: { min: 2, max: 64 }, version: 0, clean: 0, ...extra };
}

export function lanePoolContract(newStore: () => Promise<LedgerStore>): void {
  let store: LedgerStore;
  let a: Ledger;
  let b: Ledger;
  beforeEach(async () => {
    store = await newStore();
    a = await store.open();
    b = await store.open();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await store.dispose();
  });

  it('shares one pool between the slices of two workers: what one learns the other is granted', async () => {
    const scope = laneScope('batch-1', undefined);
    expect(await a.reportLanes(scope, report('batch-1', 0), T0)).toMatchObject({ granted: 2, poolLanes: 2, version: 0 });
    expect(await b.reportLanes(scope, report('batch-1', 100), T0 + 10)).toMatchObject({ granted: 0, poolLanes: 2 });
    // Clean items on worker a grow the pool; worker b's slice gets the lanes a's slice cannot use.
    expect(await a.reportLanes(scope, report('batch-1', 0, { clean: 5 }), T0 + 500)).toMatchObject({
      granted: 4,
      poolLanes: 4,
      version: 1,
    });
    expect(await a.reportLanes(scope, report('batch-1', 0, { clean: 9, version: 1 }), T0 + 1000)).toMatchObject({
      granted: 8,
      poolLanes: 8,
    });
    expect(await b.reportLanes(scope, report('batch-1', 100, { clean: 8, version: 2 }), T0 + 1500)).toMatchObject({
      granted: 8,
      poolLanes: 16,
      batchLanes: 16,
    });
    // A quota signal on b cuts the pool for both.
    const cut = await b.reportLanes(scope, report('batch-1', 100, { signal: { cuts: 0, cause: 'http 429' } }), T0 + 2000);
    expect(cut).toMatchObject({ cut: true, poolLanes: 12, cuts: 1, lastCut: { at: T0 + 2000, from: 16, to: 12, cause: 'http 429' } });
    expect(await a.reportLanes(scope, report('batch-1', 0), T0 + 2100)).toMatchObject({ granted: 8, poolLanes: 12, cuts: 1 });
    expect(await b.laneView(scope, 'batch-1')).toEqual({
      poolLanes: 12,
      batchLanes: 12,
      cuts: 1,
      lastCut: { at: T0 + 2000, from: 16, to: 12, cause: 'http 429' },
    });
  });

  it('cuts once for many signals of items started before the cut, whichever worker meets them', async () => {
    const scope = laneScope('batch-2', 'api');
    await a.reportLanes(scope, report('batch-2', 0, { want: 40 }), T0);
    for (let v = 0; v < 4; v++) await a.reportLanes(scope, report('batch-2', 0, { want: 40, version: v, clean: 100 }), T0 + v);
    expect((await a.laneView(scope, 'batch-2'))!.poolLanes).toBe(32);
    const signals = Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? a : b).reportLanes(scope, report('batch-2', 0, { want: 40, signal: { cuts: 0, cause: 'http 429' } }), T0 + 100),
    );
    const grants = await Promise.all(signals);
    expect(grants.filter((g) => g.cut)).toHaveLength(1);
    expect(await a.laneView(scope, 'batch-2')).toMatchObject({ poolLanes: 24, cuts: 1 });
  });

  it('shares a rate-limit key between batches: a second batch takes half of what the first learned, without starting over', async () => {
    const scope = laneScope('first', 'api');
    await a.reportLanes(scope, report('first', 0, { want: 64 }), T0);
    for (let v = 0; v < 4; v++) await a.reportLanes(scope, report('first', 0, { want: 64, version: v, clean: 100 }), T0 + 100 * v);
    expect((await a.laneView(scope, 'first'))!.poolLanes).toBe(32);
    expect(await b.reportLanes(scope, report('second', 0, { want: 64 }), T0 + 1000)).toMatchObject({ granted: 16, poolLanes: 32 });
    expect(await a.reportLanes(scope, report('first', 0, { want: 64 }), T0 + 1100)).toMatchObject({ granted: 16, poolLanes: 32 });
    // The first batch ends: the second has all the pool learned.
    await a.reportLanes(scope, report('first', 0, { done: true }), T0 + 1200);
    expect(await b.reportLanes(scope, report('second', 0, { want: 64 }), T0 + 1300)).toMatchObject({ granted: 32, batchLanes: 32 });
  });

  it("records the batch's lanes over time: changes at most once a second, every cut with its cause", async () => {
    const scope = laneScope('batch-3', undefined);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64 }), T0);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64, clean: 2 }), T0 + 400);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64, clean: 4, version: 1 }), T0 + 800);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64 }), T0 + 1100);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64, signal: { cuts: 0, cause: 'exit 75' } }), T0 + 1200);
    await a.reportLanes(scope, report('batch-3', 0, { want: 64 }), T0 + 5000);
    expect(await b.laneSamples('batch-3')).toEqual([
      { at: T0, lanes: 2, poolLanes: 2 },
      { at: T0 + 1100, lanes: 8, poolLanes: 8 },
      { at: T0 + 1200, lanes: 6, poolLanes: 6, cutCause: 'exit 75' },
    ]);
    expect(await b.laneSamples('no-such-batch')).toEqual([]);
    expect(await b.laneView(laneScope('no-such-batch', undefined), 'no-such-batch')).toBeUndefined();
  });
}
