/**
 * The speed and ETA a person reads while watching a batch (src/workflows/pace.ts): the rate over
 * recent running time only, and while the batch is not running its state and what ends it.
 * The two cases from issue 22: after a pause the rate is the one the batch runs at (not
 * `0 items/s | ETA 5m 35s`), and a budget-paused batch shows the command that ends the pause,
 * not an ETA growing by 12 s every 12 s.
 */
import type { BatchProgress, BatchState } from '../../src/contract/messages';
import { outlook, Pace } from '../../src/workflows/pace';

const progress = (state: BatchState, done: number, over: Partial<BatchProgress> = {}): BatchProgress => ({
  state,
  total: 1000,
  succeeded: done,
  failed: 0,
  redone: 0,
  cursor: 0,
  runs: 1,
  slicesInFlight: 2,
  resumeCostBound: 4,
  startedAt: 0,
  concurrency: 4,
  sliceSize: 100,
  ...over,
});

describe('Pace: the rate over recent running time', () => {
  it('has no rate until two seconds of running time are behind it', () => {
    const pace = new Pace();
    pace.observe(0, 0, 'running');
    pace.observe(1000, 10, 'running');
    expect(pace.itemsPerSecond()).toBeUndefined();
    pace.observe(2000, 20, 'running');
    expect(pace.itemsPerSecond()).toBe(10);
  });

  it('leaves out a pause and what stopping slices committed during it: the rate after it is the running rate', () => {
    const pace = new Pace();
    for (let t = 0; t <= 10_000; t += 500) pace.observe(t, t / 100, 'running'); // 10 items/s
    // Paused for five minutes; the slices commit 3 more items as they stop.
    pace.observe(10_500, 103, 'paused');
    pace.observe(310_000, 103, 'paused');
    // Resumed, at 10 items/s again.
    for (let t = 310_500; t <= 312_000; t += 500) pace.observe(t, 103 + (t - 310_000) / 100, 'running');
    expect(pace.itemsPerSecond()).toBeCloseTo(10, 5);
  });

  it('takes the rate over the recent window of running time, so a change of speed shows', () => {
    const pace = new Pace(10_000);
    let done = 0;
    for (let t = 0; t <= 60_000; t += 1000) pace.observe(t, (done += 10), 'running');
    for (let t = 61_000; t <= 80_000; t += 1000) pace.observe(t, (done += 2), 'running');
    expect(pace.itemsPerSecond()).toBeCloseTo(2, 5);
  });
});

describe('outlook: what speed and ETA read', () => {
  it('running: the rate and the time left at that rate', () => {
    expect(outlook(progress('running', 400), 'b1', 10, 0)).toEqual({ speed: '10.0 items/s', eta: '1m 0s' });
    expect(outlook(progress('running', 400), 'b1', undefined, 0)).toEqual({ speed: '-', eta: '-' });
    expect(outlook(progress('running', 400, { total: undefined }), 'b1', 10, 0)).toEqual({ speed: '10.0 items/s', eta: '-' });
  });

  it('paused: the command that resumes it, however long the pause', () => {
    const early = outlook(progress('paused', 400), 'b1', 10, 12_000);
    const late = outlook(progress('paused', 400), 'b1', 10, 24_000);
    expect(early).toEqual({ speed: 'paused', eta: 'paused: resume with `waymark resume b1`' });
    expect(late).toEqual(early);
  });

  it('budget reached: what was used of what, and the configure command; it does not grow', () => {
    const p = progress('budget-reached', 400, { budget: { unit: 'tokens', max: 1000 }, usage: { tokens: 1012 } });
    const at12 = outlook(p, 'b1', 10, 12_000);
    expect(at12).toEqual({
      speed: 'paused',
      eta: 'budget reached (tokens 1,012 of 1,000): raise it with `waymark configure b1 --budget N`',
    });
    expect(outlook(p, 'b1', 10, 24_000)).toEqual(at12);
  });

  it('waiting for quota: until when, and how long from now', () => {
    const until = Date.parse('2026-12-07T15:00:00Z');
    const p = progress('waiting-for-quota', 400, { quotaUntil: until, heldOn: 'openai' });
    expect(outlook(p, 'b1', 10, until - 200_000)).toEqual({
      speed: 'waiting',
      eta: 'waiting for quota on openai until 15:00:00 UTC (in 3m 20s)',
    });
  });
});
