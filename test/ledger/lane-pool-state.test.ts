/**
 * How a lane pool's lanes move and are shared (src/ledger/lane-pool-state.ts), on its pure
 * arithmetic: slow start, the cut on a quota signal, growth below the ceiling and the probe of it,
 * MIN and MAX, and the shares of the slices and batches in the pool.
 */
import {
  applyReport,
  CUT_FACTOR,
  HOLDER_TTL_MS,
  PROBE_AFTER_MAX_MS,
  PROBE_AFTER_MS,
  PROBE_WINDOWS,
  share,
  type LaneHolderRow,
  type LanePoolRow,
  type LaneReport,
} from '../../src/ledger/lane-pool-state';

const SCOPE = 'batch:b';
const T0 = 1_000_000;

/** One slice of batch `b` reporting, by default wanting 64 lanes in a batch of auto:1-64. */
function report(extra: Partial<LaneReport> = {}): LaneReport {
  return { holder: 'b/0', batchId: 'b', sliceStart: 0, want: 64, range: { min: 1, max: 64 }, version: 0, clean: 0, ...extra };
}

/** Feeds reports through the pool as a ledger would, keeping its rows. */
class Pool {
  row: LanePoolRow | undefined;
  holders: LaneHolderRow[] = [];
  now = T0;

  tell(r: LaneReport) {
    const change = applyReport(SCOPE, this.row, this.holders, r, this.now);
    this.row = change.pool;
    this.holders = this.holders.filter((h) => h.holder !== r.holder && !change.expired.includes(h.holder));
    if (change.holder) this.holders.push(change.holder);
    return change.grant;
  }

  /** A report of `clean` items at the pool's current version. */
  clean(clean: number, extra: Partial<LaneReport> = {}) {
    return this.tell(report({ version: this.row?.version ?? 0, clean, ...extra }));
  }

  signal(cause = 'http 429') {
    return this.tell(report({ signal: { cuts: this.row?.cuts ?? 0, cause } }));
  }
}

describe('a lane pool', () => {
  it('starts at MIN and, in slow start, at most doubles per step on items that succeeded with every lane busy', () => {
    const pool = new Pool();
    expect(pool.tell(report({ range: { min: 2, max: 64 } }))).toMatchObject({ granted: 2, poolLanes: 2, version: 0 });
    expect(pool.clean(1, { range: { min: 2, max: 64 } }).poolLanes).toBe(3);
    expect(pool.clean(50, { range: { min: 2, max: 64 } }).poolLanes).toBe(6);
    // Items started at an older version count for nothing: the lanes changed since they started.
    expect(pool.tell(report({ version: 0, clean: 10, range: { min: 2, max: 64 } })).poolLanes).toBe(6);
  });

  it('does not grow while its slices want fewer lanes than it has', () => {
    const pool = new Pool();
    pool.tell(report({ want: 1 }));
    expect(pool.clean(5, { want: 1 }).poolLanes).toBe(1);
    expect(pool.clean(5, { want: 2 }).poolLanes).toBe(2);
  });

  it('never grows past MAX', () => {
    const pool = new Pool();
    pool.tell(report({ range: { min: 1, max: 5 } }));
    for (let i = 0; i < 10; i++) pool.clean(100, { range: { min: 1, max: 5 } });
    expect(pool.row!.lanes).toBe(5);
  });

  it('cuts on a quota signal, once for the items started before the cut, never below MIN', () => {
    const pool = new Pool();
    pool.tell(report({ range: { min: 4, max: 64 } }));
    for (let i = 0; i < 3; i++) pool.clean(100, { range: { min: 4, max: 64 } });
    expect(pool.row!.lanes).toBe(32);
    const startedBeforeCut = pool.row!.cuts;
    pool.now += 10;
    const grant = pool.tell(report({ range: { min: 4, max: 64 }, signal: { cuts: startedBeforeCut, cause: 'http 429' } }));
    expect(grant).toMatchObject({
      cut: true,
      poolLanes: Math.floor(32 * CUT_FACTOR),
      ceiling: 32,
      cuts: 1,
      lastCut: { at: T0 + 10, from: 32, to: 24, cause: 'http 429' },
    });
    // Another item in flight before the cut met the same limit: no second cut.
    expect(pool.tell(report({ range: { min: 4, max: 64 }, signal: { cuts: startedBeforeCut, cause: 'http 429' } }))).toMatchObject({
      cut: false,
      poolLanes: 24,
    });
    // Signals from items started after each cut cut again, down to MIN and no further.
    for (let i = 0; i < 10; i++) pool.tell(report({ range: { min: 4, max: 64 }, signal: { cuts: pool.row!.cuts, cause: 'exit 75' } }));
    expect(pool.row!.lanes).toBe(4);
    expect(pool.row!.lastCut).toMatchObject({ from: 4, to: 4, cause: 'exit 75' });
  });

  it('below the ceiling grows a lane per window of clean items, waits one under it, then tries it again', () => {
    const pool = new Pool();
    pool.tell(report());
    for (let i = 0; i < 4; i++) pool.clean(100);
    expect(pool.row!.lanes).toBe(16);
    pool.signal();
    expect(pool.row).toMatchObject({ lanes: 12, ceiling: 16 });
    // A window is as many clean items as lanes: 11 are not one.
    expect(pool.clean(11).poolLanes).toBe(12);
    expect(pool.clean(1).poolLanes).toBe(13);
    expect(pool.clean(13).poolLanes).toBe(14);
    expect(pool.clean(14).poolLanes).toBe(15);
    // One under the ceiling: windows of clean items do not move it until PROBE_AFTER_MS have passed.
    pool.now += PROBE_AFTER_MS - 1;
    expect(pool.clean(100).poolLanes).toBe(15);
    pool.now += 1;
    expect(pool.clean(100).poolLanes).toBe(16);
    // At the ceiling one clean window is not enough (a rate limit lets a few lanes more through for a
    // moment); PROBE_WINDOWS of them show the limit rose: the ceiling is forgotten, and each window adds a lane.
    expect(pool.clean(16 * (PROBE_WINDOWS - 1))).toMatchObject({ poolLanes: 16, ceiling: 16 });
    expect(pool.clean(16)).toMatchObject({ poolLanes: 17, ceiling: null });
    expect(pool.clean(17).poolLanes).toBe(18);
  });

  it('after a probe of the ceiling fails, goes back to one under it and waits twice as long, up to PROBE_AFTER_MAX_MS', () => {
    const pool = new Pool();
    pool.tell(report());
    for (let i = 0; i < 4; i++) pool.clean(100);
    pool.signal();
    for (let i = 0; i < 3; i++) pool.clean(100);
    expect(pool.row).toMatchObject({ lanes: 15, ceiling: 16 });
    const waits: number[] = [];
    for (let probe = 0; probe < 5; probe++) {
      const before = pool.now;
      while (pool.clean(100).poolLanes < 16) pool.now += 1000;
      waits.push(pool.now - before);
      // The probe meets the limit: back to one under the ceiling, not a cut to CUT_FACTOR.
      expect(pool.signal()).toMatchObject({ cut: true, poolLanes: 15, ceiling: 16, lastCut: { from: 16, to: 15 } });
    }
    expect(waits).toEqual([PROBE_AFTER_MS, 2 * PROBE_AFTER_MS, 4 * PROBE_AFTER_MS, PROBE_AFTER_MAX_MS, PROBE_AFTER_MAX_MS]);
    // A signal under the ceiling is the limit falling: a cut to CUT_FACTOR, a new ceiling, and the first wait again.
    expect(pool.signal()).toMatchObject({ poolLanes: Math.floor(15 * CUT_FACTOR), ceiling: 15 });
    for (let i = 0; i < 3; i++) pool.clean(100);
    const before = pool.now;
    while (pool.clean(100).poolLanes < 15) pool.now += 1000;
    expect(pool.now - before).toBe(PROBE_AFTER_MS);
  });

  it('gives a slice that returned its lanes to the others, and forgets a slice gone silent', () => {
    const pool = new Pool();
    pool.tell(report({ want: 8, range: { min: 12, max: 64 } }));
    expect(pool.tell(report({ holder: 'b/100', sliceStart: 100, want: 8, range: { min: 12, max: 64 } })).granted).toBe(4);
    expect(pool.tell(report({ done: true, range: { min: 12, max: 64 } })).granted).toBe(0);
    expect(pool.tell(report({ holder: 'b/100', sliceStart: 100, want: 8, range: { min: 12, max: 64 } })).granted).toBe(8);
    pool.tell(report({ holder: 'b/200', sliceStart: 200, want: 8, range: { min: 12, max: 64 } }));
    pool.now += HOLDER_TTL_MS + 1;
    // b/100 has not reported for longer than the TTL: b/200 gets the lanes.
    expect(pool.tell(report({ holder: 'b/200', sliceStart: 200, want: 8, range: { min: 12, max: 64 } })).granted).toBe(8);
    expect(pool.holders.map((h) => h.holder)).toEqual(['b/200']);
  });
});

describe('sharing a pool', () => {
  const holder = (batchId: string, sliceStart: number, want: number, min = 1, max = 64): LaneHolderRow => ({
    scope: 'key:api',
    holder: `${batchId}/${sliceStart}`,
    batchId,
    sliceStart,
    want,
    min,
    max,
    seenAt: T0,
  });

  it('gives each batch an even share, and within a batch the slices in index order', () => {
    const shares = share(20, [holder('a', 100, 8), holder('a', 0, 8), holder('a', 200, 8), holder('b', 0, 30)]);
    expect(Object.fromEntries(shares)).toEqual({ 'a/0': 8, 'a/100': 2, 'a/200': 0, 'b/0': 10 });
  });

  it('gives what one batch does not want to the other, and no batch more than its MAX', () => {
    expect(Object.fromEntries(share(20, [holder('a', 0, 3), holder('b', 0, 30)]))).toEqual({ 'a/0': 3, 'b/0': 17 });
    expect(Object.fromEntries(share(20, [holder('a', 0, 30, 1, 5), holder('b', 0, 30, 1, 8)]))).toEqual({ 'a/0': 5, 'b/0': 8 });
  });

  it("keeps each batch's MIN while it wants that many, even past the pool's lanes", () => {
    expect(Object.fromEntries(share(4, [holder('a', 0, 30, 4), holder('b', 0, 30, 4)]))).toEqual({ 'a/0': 4, 'b/0': 4 });
  });

  it('keeps the pool between the sum of MINs and the sum of MAXes of the batches in it', () => {
    const pool = new Pool();
    pool.tell(report({ range: { min: 3, max: 4 } }));
    const grant = pool.tell(report({ holder: 'c/0', batchId: 'c', range: { min: 5, max: 6 } }));
    expect(grant.poolLanes).toBe(8);
    for (let i = 0; i < 5; i++) pool.clean(100, { holder: 'c/0', batchId: 'c', range: { min: 5, max: 6 } });
    expect(pool.row!.lanes).toBe(10);
  });
});
