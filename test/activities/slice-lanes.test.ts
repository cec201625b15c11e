/**
 * A slice's lanes (src/activities/slice-lanes.ts, INVARIANTS.md I5, I8, I14, I15): many items of
 * one slice in flight at once, never more than its lanes; lanes, pause and a quota hold that
 * reach a running slice through the ledger within a poll; what a crash or a stop with many items
 * in flight costs the next attempt; a suspect that runs alone.
 */
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { defineProcessor, QuotaExhaustedError, type ProcessorContext } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { sliceHarness, makeSpec, range, endOf, succeeded } from '../helpers/slice-harness';
import { waitFor } from '../helpers/wait-for';
import { lendLanes } from '../../src/activities/lend-lanes';
import { controlSlices } from '../../src/activities/control-slices';

const slices = sliceHarness();
const { textSource, sliceOf, rows, startSlice } = slices;

let processorCount = 0;

/** A processor whose items take `ms` each, recording how many run at once and which ran when. */
function lanesProcessor(ms: number | ((ctx: ProcessorContext) => number)) {
  const name = `slice-lanes-test-${++processorCount}`;
  const seen = { running: 0, most: 0, indexes: [] as number[], alongside: new Map<number, number>() };
  registerProcessor(
    name,
    defineProcessor(async (item, ctx) => {
      seen.running++;
      seen.most = Math.max(seen.most, seen.running);
      seen.indexes.push(ctx.index);
      seen.alongside.set(ctx.index, seen.running);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, typeof ms === 'number' ? ms : ms(ctx));
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(ctx.signal.reason as Error);
          });
        });
      } finally {
        seen.running--;
      }
      return item;
    }),
  );
  return { name, seen };
}

describe('a slice of many lanes', () => {
  it('runs up to its lanes of items at once, never more, and commits each item once', async () => {
    const proc = lanesProcessor(40);
    const spec = makeSpec(textSource(80), proc.name, { sliceSize: 40, checkpointEvery: 80 });
    const slice = await sliceOf(spec, 1);
    const started = Date.now();
    const result = await startSlice('lanes', spec, slice, {}, undefined, { lanes: 8 }).result;
    const took = Date.now() - started;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 40, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(proc.seen.most).toBe(8);
    expect([...proc.seen.indexes].sort((a, b) => a - b)).toEqual(range(slice.start, endOf(slice)));
    expect((await rows('lanes')).map((r) => r.index)).toEqual(range(slice.start, endOf(slice)));
    // Five rounds of 40 ms: far less than the 1.6 s one lane would take.
    expect(took).toBeLessThan(1200);
    expect(await slices.ledger.inFlight('lanes', slice.start)).toBeNull();
  });

  it('takes more lanes and gives some back as the ledger says, within a poll, and only lanes given after its launch', async () => {
    const proc = lanesProcessor(50);
    const spec = makeSpec(textSource(300), proc.name, { sliceSize: 300, checkpointEvery: 300 });
    const slice = await sliceOf(spec, 0);
    // Lanes lent to an earlier attempt of the slice (generation 2) are not this one's, launched at 2.
    await slices.ledger.setSliceLanes('lend', slice.start, 20, 2);
    const attempt = startSlice('lend', spec, slice, {}, undefined, { lanes: 2, controlGeneration: 2 });
    await new Promise((r) => setTimeout(r, 800));
    expect(proc.seen.most).toBe(2);
    await slices.ledger.setSliceLanes('lend', slice.start, 6, 3);
    await waitFor('six items at once', async () => proc.seen.running === 6, 2000);
    await slices.ledger.setSliceLanes('lend', slice.start, 1, 4);
    await waitFor('one item at a time', async () => proc.seen.running === 1, 2000);
    proc.seen.most = 1;
    await new Promise((r) => setTimeout(r, 300));
    expect(proc.seen.most).toBe(1);
    await slices.ledger.setSliceLanes('lend', slice.start, 12, 5);
    expect(await attempt.result).toEqual({
      outcome: 'done',
      tally: { succeeded: 300, failed: 0, redone: 0, heartbeats: expect.any(Number) },
    });
    expect(proc.seen.most).toBe(12);
  });

  it('hears lanes lent and a pause written in this process at once, without waiting for its poll of the ledger', async () => {
    const proc = lanesProcessor(50);
    const spec = makeSpec(textSource(400), proc.name, { sliceSize: 400, checkpointEvery: 400 });
    const slice = await sliceOf(spec, 0);
    const reads = jest.spyOn(slices.ledger, 'sliceControl');
    try {
      const attempt = startSlice('nudged', spec, slice, {}, undefined, { lanes: 2, controlGeneration: 0 });
      await waitFor('two items at once', async () => proc.seen.running === 2, 2000);
      // The slice reads its control every 500 ms: a read within a turn of the write is the nudge's.
      const readAfterWrite = async (write: () => Promise<unknown>) => {
        const before = reads.mock.calls.length;
        await write();
        await new Promise((resolve) => setImmediate(resolve));
        return reads.mock.calls.length > before;
      };
      for (const [lanes, generation] of [
        [5, 1],
        [8, 2],
      ]) {
        const lend = () =>
          lendLanes({ ledger: slices.ledger }, { batchId: 'nudged', slices: [{ ...slice, lanes: lanes - 3 }], freeLanes: 3, generation });
        expect(await readAfterWrite(lend)).toBe(true);
        await waitFor(`${lanes} items at once`, async () => proc.seen.running === lanes, 2000);
      }
      const pause = () => controlSlices({ ledger: slices.ledger }, { batchId: 'nudged', state: 'pause', generation: 3 });
      expect(await readAfterWrite(pause)).toBe(true);
      expect(await attempt.result).toMatchObject({ outcome: 'stopped', reason: 'pause' });
    } finally {
      reads.mockRestore();
    }
  });

  it('stops within a poll when the ledger says pause: the items cut short are redone by the next attempt, and nothing else', async () => {
    const proc = lanesProcessor(400);
    const spec = makeSpec(textSource(100), proc.name, { sliceSize: 100, checkpointEvery: 100 });
    const slice = await sliceOf(spec, 0);
    const first = startSlice('paused', spec, slice, {}, undefined, { lanes: 8, controlGeneration: 0 });
    await waitFor('eight items running', async () => proc.seen.running === 8, 2000);
    const pausedAt = Date.now();
    await slices.ledger.setBatchControl('paused', { state: 'pause', generation: 1 });
    const stopped = await first.result;
    const stopMs = Date.now() - pausedAt;

    expect(stopMs).toBeLessThan(1000);
    expect(stopped).toMatchObject({ outcome: 'stopped', reason: 'pause' });
    const committed = await slices.ledger.committedIndexes('paused', 0, 100);
    const cutShort = proc.seen.indexes.filter((i) => !committed.includes(i));
    expect(cutShort).toHaveLength(8);

    // Resumed: launched after the pause (generation 2 here), so the pause written at 1 is not for it.
    const second = await startSlice('paused', spec, slice, {}, undefined, { lanes: 8, controlGeneration: 2 }).result;
    expect(second).toEqual({ outcome: 'done', tally: { succeeded: 100, failed: 0, redone: 8, heartbeats: expect.any(Number) } });
    const runs = new Map<number, number>();
    for (const i of proc.seen.indexes) runs.set(i, (runs.get(i) ?? 0) + 1);
    // Each item cut short ran twice, every other item once.
    expect([...runs].filter(([, n]) => n === 2).map(([i]) => i)).toEqual(cutShort);
    expect([...runs.values()].every((n) => n <= 2)).toBe(true);
    // Cut short is not a crash: no item became a suspect.
    expect(await slices.ledger.interruptedIndexes('paused', 0, 100)).toEqual([]);
  });

  it('after a crash with many items in flight, counts each one redone once and runs it again, and only those', async () => {
    const proc = lanesProcessor(5);
    const spec = makeSpec(textSource(60), proc.name, { sliceSize: 60, checkpointEvery: 60 });
    const slice = await sliceOf(spec, 0);
    // A dead attempt of 8 lanes: items 0-19 and 22, 25 committed; 20-27 marked in flight.
    await slices.ledger.claimSlice('crashed', 0, 'dead-attempt');
    await slices.ledger.commit(
      'crashed',
      0,
      [...range(0, 20), 22, 25].map((i) => succeeded(i, i)),
      { from: 0, to: 28 },
      'dead-attempt',
    );
    const result = await startSlice('crashed', spec, slice, {}, undefined, { lanes: 8 }).result;

    const inFlight = [20, 21, 23, 24, 26, 27];
    expect(result).toEqual({
      outcome: 'done',
      tally: { succeeded: 60, failed: 0, redone: inFlight.length, heartbeats: expect.any(Number) },
    });
    expect([...proc.seen.indexes].sort((a, b) => a - b)).toEqual([...inFlight, ...range(28, 60)]);
    expect(await slices.ledger.interruptedIndexes('crashed', 0, 60)).toEqual(inFlight);
  });

  it('runs a suspect the next crash would dead-letter alone: no other item of its slice beside it', async () => {
    const proc = lanesProcessor(20);
    const spec = makeSpec(textSource(60), proc.name, { sliceSize: 60, checkpointEvery: 60, itemCrashLimit: 3 });
    const slice = await sliceOf(spec, 0);
    // Item 30 crashed its worker twice: a third crash dead-letters it. Item 40 crashed once: it runs like any item.
    for (let i = 0; i < 2; i++) await slices.ledger.recordInterruption('suspects', 30);
    await slices.ledger.recordInterruption('suspects', 40);
    const result = await startSlice('suspects', spec, slice, {}, undefined, { lanes: 8 }).result;

    expect(result).toMatchObject({ outcome: 'done', tally: { succeeded: 60, failed: 0 } });
    expect(proc.seen.alongside.get(30)).toBe(1);
    expect(proc.seen.most).toBe(8);
    expect(Math.max(...[...proc.seen.alongside].filter(([i]) => i !== 30).map(([, n]) => n))).toBe(8);
    // Items start in index order: everything before the suspect started before it, everything after, after it.
    const at = proc.seen.indexes.indexOf(30);
    expect(proc.seen.indexes.slice(0, at).every((i) => i < 30)).toBe(true);
    expect(proc.seen.indexes.slice(at + 1).every((i) => i > 30)).toBe(true);
  });

  it('stops every lane at a quota signal, lets the items in flight finish, and holds the batch through the ledger', async () => {
    let quotaFrom = 25;
    const proc = lanesProcessor(() => 30);
    const name = `slice-lanes-quota-${++processorCount}`;
    registerProcessor(
      name,
      defineProcessor(async (item, ctx) => {
        if (ctx.index === quotaFrom) throw new QuotaExhaustedError(600);
        return item;
      }),
    );
    const spec = makeSpec(textSource(100), name, { sliceSize: 50, checkpointEvery: 100 });
    const [a, b] = [await sliceOf(spec, 0), await sliceOf(spec, 1)];
    const first = await startSlice('quota', spec, a, {}, undefined, { lanes: 4 }).result;
    expect(first).toMatchObject({ outcome: 'quota', retryAfterMs: 600, nextIndex: 25 });
    // Every item before the one the API refused, and those in flight beside it, were committed; none after.
    const committed = await slices.ledger.committedIndexes('quota', 0, 50);
    expect(committed.slice(0, 25)).toEqual(range(0, 25));
    expect(committed.length).toBeLessThanOrEqual(25 + 3);
    // The batch's other slice hears of the hold from the ledger and starts nothing.
    expect(await startSlice('quota', spec, b, {}, undefined, { lanes: 4 }).result).toMatchObject({
      outcome: 'quota',
      tally: { succeeded: 0 },
    });
    await new Promise((r) => setTimeout(r, 650));
    quotaFrom = -1;
    expect(await startSlice('quota', spec, a, {}, undefined, { lanes: 4 }).result).toMatchObject({
      outcome: 'done',
      tally: { succeeded: 50, redone: 0 },
    });
    expect(proc.seen.indexes).toEqual([]);
  });

  it('on worker shutdown lets every item in flight finish and commits it: nothing to redo', async () => {
    const proc = lanesProcessor(300);
    const spec = makeSpec(textSource(100), proc.name, { sliceSize: 100, checkpointEvery: 100 });
    const slice = await sliceOf(spec, 0);
    const attempt = startSlice('drain', spec, slice, {}, undefined, { lanes: 10 });
    await waitFor('ten items running', async () => proc.seen.running === 10, 2000);
    attempt.env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    await expect(attempt.result).rejects.toBeInstanceOf(CancelledFailure);
    const committed = await slices.ledger.committedIndexes('drain', 0, 100);
    expect([...proc.seen.indexes].sort((a, b) => a - b)).toEqual(committed);
    expect(committed.length).toBeGreaterThanOrEqual(10);
    expect(await slices.ledger.inFlight('drain', slice.start)).toBeNull();
  });
});
