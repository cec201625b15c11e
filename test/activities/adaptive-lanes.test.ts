/**
 * Adaptive lanes in one slice (src/activities/adaptive-lanes.ts, slice-lanes.ts): the slice runs
 * the lanes its pool in the ledger grants, grows them while items succeed with every lane busy,
 * cuts them on a quota signal and waits a short Retry-After out itself, with each item committed
 * once; a long wait still stops the slice as any quota stop does.
 */
import { defineProcessor, QuotaExhaustedError } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { laneScope } from '../../src/contract/adaptive-concurrency';
import { sliceHarness, makeSpec, range, endOf } from '../helpers/slice-harness';

const slices = sliceHarness();
const { textSource, sliceOf, rows, startSlice } = slices;

let processorCount = 0;

/** An API that takes at most `limit` requests at once and refuses the rest with a quota signal of `retryAfterMs`. */
function limitedApi(limit: number, itemMs: number, retryAfterMs: number) {
  const name = `adaptive-lanes-test-${++processorCount}`;
  const seen = { running: 0, most: 0, accepted: 0, refused: 0 };
  registerProcessor(
    name,
    defineProcessor(async (item) => {
      if (seen.running >= limit) {
        seen.refused++;
        throw new QuotaExhaustedError(retryAfterMs);
      }
      seen.accepted++;
      seen.running++;
      seen.most = Math.max(seen.most, seen.running);
      try {
        await new Promise((resolve) => setTimeout(resolve, itemMs));
      } finally {
        seen.running--;
      }
      return item;
    }),
  );
  return { name, seen };
}

describe('adaptive lanes in a slice', () => {
  it('find an API limit of 5 at once: lanes grow, are cut by its 429s, wait each Retry-After out in the slice, and every item commits once', async () => {
    const api = limitedApi(5, 40, 1000);
    const spec = makeSpec(textSource(600), api.name, { sliceSize: 600, checkpointEvery: 600, concurrency: { auto: { min: 1, max: 16 } } });
    const slice = await sliceOf(spec, 0);
    const result = await startSlice('adaptive', spec, slice, {}, undefined, { lanes: 16 }).result;

    // One slice attempt ran the whole slice: the 429s cost no stop of the slice.
    expect(result).toMatchObject({ outcome: 'done', tally: { succeeded: 600, failed: 0, redone: 0 } });
    const outcomes = await rows('adaptive');
    expect(outcomes.map((r) => r.index)).toEqual(range(slice.start, endOf(slice)));
    expect(outcomes.every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    expect(api.seen.accepted).toBe(600);
    // The lanes found the limit and stayed about it: each refusal was a cut, and few were needed.
    const view = await slices.ledger.laneView(laneScope('adaptive', undefined), 'adaptive');
    expect(view).toMatchObject({ cuts: expect.any(Number), lastCut: { cause: 'QuotaExhaustedError' } });
    expect(view!.cuts).toBeGreaterThanOrEqual(1);
    expect(view!.poolLanes).toBeGreaterThanOrEqual(3);
    expect(view!.poolLanes).toBeLessThanOrEqual(6);
    expect(api.seen.refused).toBeLessThan(60);
    console.log(
      `adaptive slice: ${api.seen.refused} refused of ${api.seen.refused + api.seen.accepted} requests, ${view!.cuts} cuts, lanes now ${view!.poolLanes}`,
    );
    expect(result.adaptive).toMatchObject({ poolLanes: view!.poolLanes, cuts: view!.cuts });
    // Its lanes left the pool as it returned.
    expect(await slices.ledger.inFlight('adaptive', slice.start)).toBeNull();
  });

  it('never runs more than MAX nor, with items to run, fewer than MIN', async () => {
    const api = limitedApi(100, 20, 1000);
    const spec = makeSpec(textSource(300), api.name, { sliceSize: 300, checkpointEvery: 300, concurrency: { auto: { min: 3, max: 6 } } });
    const slice = await sliceOf(spec, 0);
    const result = await startSlice('bounds', spec, slice, {}, undefined, { lanes: 6 }).result;
    expect(result).toMatchObject({ outcome: 'done', tally: { succeeded: 300 } });
    expect(api.seen.most).toBe(6);
    // The lanes over time, while the slice ran.
    const samples = await slices.ledger.laneSamples('bounds');
    // The last sample may be the slice leaving the pool as it returned: none of its lanes run then.
    if (samples.at(-1)!.lanes === 0) samples.pop();
    expect(samples[0]).toMatchObject({ lanes: 3, poolLanes: 3 });
    expect(samples.at(-1)).toMatchObject({ lanes: 6, poolLanes: 6 });
    expect(samples.every((s) => s.lanes >= 3 && s.lanes <= 6)).toBe(true);
  });

  it('stops the slice as any quota stop for a wait longer than the heartbeat timeout, after cutting the lanes', async () => {
    const api = limitedApi(2, 30, 60_000);
    const spec = makeSpec(textSource(100), api.name, {
      sliceSize: 100,
      checkpointEvery: 100,
      concurrency: { auto: { min: 1, max: 8 } },
      heartbeatTimeoutMs: 5000,
    });
    const slice = await sliceOf(spec, 0);
    const result = await startSlice('long-wait', spec, slice, {}, undefined, { lanes: 8 }).result;
    expect(result).toMatchObject({ outcome: 'quota', retryAfterMs: 60_000 });
    const view = await slices.ledger.laneView(laneScope('long-wait', undefined), 'long-wait');
    expect(view).toMatchObject({ cuts: 1 });
    // What finished is committed; nothing is left in flight for the slice's next attempt to redo.
    expect(await slices.ledger.inFlight('long-wait', slice.start)).toBeNull();
    expect((await rows('long-wait')).every((r) => r.status === 'succeeded')).toBe(true);
  });
});
