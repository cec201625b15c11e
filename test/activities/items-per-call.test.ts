/**
 * itemsPerCall: processSlice with a batch processor (defineBatchProcessor) in a mocked activity
 * context. Each item keeps its own outcome row, attempts and failure type; a call that fails as
 * a whole charges an attempt to each of its items; a crash charges every item of the open call,
 * which then run in calls of one; the bound is C x max(k, M).
 */
import type { Ledger } from '../../src/ledger/ledger';
import { defineBatchProcessor, NonRetryableItemError, type BatchProcessorFn, type CallItem } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { parseBatchSpec, resumeCostBound } from '../../src/contract/batch-spec';
import { sliceHarness, makeSpec, range, endOf, succeeded } from '../helpers/slice-harness';

const slices = sliceHarness();
const { textSource, sliceOf, rows, startSlice } = slices;

// ---------------------------------------------------------------------------------------------
// Helpers

let processorCount = 0;

/** Registers a batch processor that records each call's items, then does `behaviour` (default: upper-case each). */
function recordingBatchProcessor(behaviour?: BatchProcessorFn) {
  const name = `items-per-call-test-${++processorCount}`;
  const calls: CallItem[][] = [];
  registerProcessor(
    name,
    defineBatchProcessor((items, ctx) => {
      calls.push(items);
      return behaviour ? behaviour(items, ctx) : Promise.resolve(items.map((i) => ({ result: String(i.item).toUpperCase() })));
    }),
  );
  return { name, calls, sizes: () => calls.map((c) => c.length) };
}

// ---------------------------------------------------------------------------------------------

describe('processSlice with itemsPerCall', () => {
  it('calls with up to M items, commits each call as a group, and writes one outcome row per item', async () => {
    const proc = recordingBatchProcessor();
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, itemsPerCall: 4 });
    const slice = await sliceOf(spec, 1);
    const commits: number[][] = [];
    const recording: Ledger = Object.create(slices.ledger, {
      commit: {
        value: (...args: Parameters<Ledger['commit']>) => (commits.push(args[2].map((o) => o.index)), slices.ledger.commit(...args)),
      },
    });

    const result = await startSlice('calls', spec, slice, {}, recording).result;

    expect(proc.sizes()).toEqual([4, 4, 4, 4, 4, 3]);
    // The first call is marked in flight on its own; each call's outcomes then commit as one group, with the mark of the next.
    expect(commits.map((c) => c.length)).toEqual([0, 4, 4, 4, 4, 4, 3]);
    const all = await rows('calls');
    expect(all.map((r) => r.index)).toEqual(range(slice.start, endOf(slice)));
    for (const r of all) expect(r).toMatchObject({ status: 'succeeded', attempts: 1, result: `ITEM-${r.index}` });
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 23, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
  });

  it('gives each item of a call its own attempts and failure type, retrying only the items that failed retryably', async () => {
    const s = 23;
    const proc = recordingBatchProcessor((items) =>
      Promise.resolve(
        items.map((i) => {
          if (i.index === s + 1) return { error: new NonRetryableItemError('bad data', 'bad-data') };
          if (i.index === s + 2 && i.attempt === 1) return { error: new Error('flaky') };
          if (i.index === s + 3) return { error: new TypeError('always broken') };
          return { result: i.attempt };
        }),
      ),
    );
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, itemsPerCall: 5, itemAttempts: 3 });
    const slice = await sliceOf(spec, 1);
    await startSlice('per-item', spec, slice).result;

    // The second call holds only the items left: s+2 (flaky) and s+3 (broken); the third only s+3.
    expect(proc.calls.slice(0, 3).map((c) => c.map((i) => [i.index, i.attempt]))).toEqual([
      range(s, s + 5).map((i) => [i, 1]),
      [
        [s + 2, 2],
        [s + 3, 2],
      ],
      [[s + 3, 3]],
    ]);
    const all = await rows('per-item');
    expect(all.slice(0, 5)).toEqual([
      expect.objectContaining({ index: s, status: 'succeeded', attempts: 1 }),
      expect.objectContaining({ index: s + 1, status: 'failed', errorType: 'bad-data', attempts: 1 }),
      expect.objectContaining({ index: s + 2, status: 'succeeded', attempts: 2, result: 2 }),
      expect.objectContaining({ index: s + 3, status: 'failed', errorType: 'TypeError', errorMessage: 'always broken', attempts: 3 }),
      expect.objectContaining({ index: s + 4, status: 'succeeded', attempts: 1 }),
    ]);
  });

  it('charges an attempt to every item of a call that fails as a whole', async () => {
    let calls = 0;
    const proc = recordingBatchProcessor((items) => {
      if (++calls === 1) throw new Error('the service answered 502');
      return Promise.resolve(items.map((i) => ({ result: i.attempt })));
    });
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, itemsPerCall: 10 });
    const slice = await sliceOf(spec, 1);
    await startSlice('whole-call', spec, slice).result;

    const all = await rows('whole-call');
    expect(all.slice(0, 10).map((r) => r.attempts)).toEqual(Array(10).fill(2));
    expect(all.slice(10).map((r) => r.attempts)).toEqual(Array(13).fill(1));

    const failing = recordingBatchProcessor(() => Promise.reject(new RangeError('down for good')));
    const failingSpec = makeSpec(textSource(46), failing.name, { sliceSize: 23, checkpointEvery: 46, itemsPerCall: 10, itemAttempts: 2 });
    await startSlice('whole-call-fails', failingSpec, slice).result;
    const failed = await rows('whole-call-fails');
    expect(failed).toHaveLength(23);
    for (const r of failed)
      expect(r).toMatchObject({ status: 'failed', errorType: 'RangeError', errorMessage: 'down for good', attempts: 2 });
  });

  it('counts every item of the call a dead attempt left as redone and crashed, and runs them in calls of one once another crash would dead-letter them', async () => {
    const proc = recordingBatchProcessor();
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, itemsPerCall: 4, itemCrashLimit: 3 });
    const slice = await sliceOf(spec, 1);
    const s = slice.start;
    // The dead attempt committed two calls and had the third (s+8 to s+11) in flight.
    const crashWithCallInFlight = async (batchId: string) => {
      await slices.ledger.claimSlice(batchId, s, 'dead-attempt');
      await slices.ledger.commit(
        batchId,
        s,
        range(s, s + 8).map((i) => succeeded(i, i)),
        { from: s, to: s + 12 },
        'dead-attempt',
      );
    };
    await crashWithCallInFlight('call-crash');

    const result = await startSlice('call-crash', spec, slice).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 23, failed: 0, redone: 4, heartbeats: expect.any(Number) } });
    expect(await slices.ledger.interruptedIndexes('call-crash', s, endOf(slice))).toEqual(range(s + 8, s + 12));
    // One crash each: any of the four may be innocent, and one more crash would not dead-letter them: a call as usual.
    expect(proc.sizes()).toEqual([4, 4, 4, 3]);

    // Crashed once before: this crash leaves them one short of the limit, so each runs alone.
    for (const i of range(s + 8, s + 12)) await slices.ledger.recordInterruption('call-crash-again', i);
    await crashWithCallInFlight('call-crash-again');
    proc.calls.length = 0;
    const again = await startSlice('call-crash-again', spec, slice).result;
    expect(again).toEqual({ outcome: 'done', tally: { succeeded: 23, failed: 0, redone: 8, heartbeats: expect.any(Number) } });
    expect(proc.sizes()).toEqual([1, 1, 1, 1, 4, 4, 3]);
  });

  it('reports the bound as C x max(k, M) and refuses M larger than the slice, naming the field', () => {
    const base = { source: { kind: 'text', path: '/x' }, processor: { name: 'sha256' }, concurrency: 3 } as const;
    expect(resumeCostBound(parseBatchSpec({ ...base, commitGroup: 2, itemsPerCall: 8 }))).toBe(24);
    expect(resumeCostBound(parseBatchSpec({ ...base, commitGroup: 10, itemsPerCall: 8 }))).toBe(30);
    expect(resumeCostBound(parseBatchSpec(base))).toBe(3);
    expect(() => parseBatchSpec({ ...base, sliceSize: 10, checkpointEvery: 10, itemsPerCall: 20 })).toThrow(
      'invalid batch spec: itemsPerCall (20) is larger than sliceSize (10); a call cannot span slices',
    );
    expect(() => parseBatchSpec({ ...base, itemsPerCall: 0 })).toThrow(/^invalid batch spec: itemsPerCall /);
  });
});
