/**
 * A running slice split for idle lanes (INVARIANTS.md I14), in a mocked activity context with a
 * real SQLite ledger and source: the attempt stops at its next item boundary once asked, commits
 * what it finished, leaves nothing in flight, and hands back the rest cut at the source's real
 * offsets; the new slices then run each remaining item once.
 */
import { defineProcessor } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { openSource } from '../../src/sources/open-source';
import { waitFor } from '../helpers/wait-for';
import { sliceHarness, makeSpec, range, endOf } from '../helpers/slice-harness';

const slices = sliceHarness();

let processorCount = 0;

/** A processor that records each index it runs, takes `ms` an item and holds item `holdAt` until released. */
function holdingProcessor(holdAt: number, ms = 0) {
  const name = `split-slice-test-${++processorCount}`;
  const ran: number[] = [];
  let held!: () => void;
  const reached = new Promise<void>((resolve) => (held = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  registerProcessor(
    name,
    defineProcessor(async (item, ctx) => {
      ran.push(ctx.index);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      if (ctx.index === holdAt) {
        held();
        await released;
      }
      return item;
    }),
  );
  return { name, ran, reached, release };
}

describe('processSlice: a split asked by idle lanes', () => {
  it('stops after the item in flight and hands back the rest, cut at the real offsets, with nothing redone', async () => {
    const proc = holdingProcessor(24);
    const spec = makeSpec(slices.textSource(60), proc.name, { sliceSize: 20, checkpointEvery: 60 });
    const slice = await slices.sliceOf(spec, 1);
    const attempt = slices.startSlice('split', spec, slice);
    await proc.reached;
    await slices.ledger.requestSplit('split', slice.start, 3);
    // The request is read on the heartbeat tick: two more beats and it has been read.
    const beats = attempt.heartbeats.length;
    await waitFor('the split request read', () => attempt.heartbeats.length >= beats + 2);
    proc.release();

    const result = await attempt.result;
    const source = openSource(spec.source, { dataDir: slices.dir, batchId: 'plan' });
    const byFives = await source.planWindow({ index: 0, offset: 0 }, 60, 5);
    expect(result).toEqual({
      outcome: 'split',
      tally: { succeeded: 5, failed: 0, redone: 0 },
      rest: byFives.slices.slice(5, 8),
    });
    expect(proc.ran).toEqual(range(20, 25));
    expect(await slices.ledger.committedIndexes('split', slice.start, endOf(slice))).toEqual(range(20, 25));
    expect(await slices.ledger.inFlight('split', slice.start)).toBeNull();

    if (result.outcome !== 'split') return;
    for (const piece of result.rest) {
      expect((await slices.startSlice('split', spec, piece).result).outcome).toBe('done');
    }
    expect(proc.ran).toEqual(range(20, 40));
    expect((await slices.rows('split')).map((r) => [r.index, r.attempts])).toEqual(range(20, 40).map((i) => [i, 1]));
    expect(await slices.ledger.tally('split', 20, 40)).toEqual({ succeeded: 20, failed: 0, redone: 0 });
  });

  it('runs on whole when asked with one item left: there is nothing to hand back', async () => {
    const proc = holdingProcessor(18);
    const spec = makeSpec(slices.textSource(20), proc.name, { sliceSize: 20, checkpointEvery: 20 });
    const slice = await slices.sliceOf(spec, 0);
    const attempt = slices.startSlice('last-one', spec, slice);
    await proc.reached;
    await slices.ledger.requestSplit('last-one', slice.start, 4);
    const beats = attempt.heartbeats.length;
    await waitFor('the split request read', () => attempt.heartbeats.length >= beats + 2);
    proc.release();
    expect(await attempt.result).toEqual({ outcome: 'done', tally: { succeeded: 20, failed: 0, redone: 0 } });
    expect(proc.ran).toEqual(range(0, 20));
  });

  it('honours a split asked before its attempt started', async () => {
    const proc = holdingProcessor(-1, 50);
    const spec = makeSpec(slices.textSource(40), proc.name, { sliceSize: 40, checkpointEvery: 40 });
    const slice = await slices.sliceOf(spec, 0);
    await slices.ledger.requestSplit('early', slice.start, 2);
    // The first tick, a second in, reads the request: the attempt stops at the next item boundary.
    const result = await slices.startSlice('early', spec, slice).result;
    expect(result.outcome).toBe('split');
    if (result.outcome !== 'split') return;
    const done = result.rest[0].start;
    expect(done).toBeGreaterThan(0);
    expect(proc.ran).toEqual(range(0, done));
    expect(result.tally.succeeded).toBe(done);
    expect(result.rest).toHaveLength(Math.min(2, 40 - done));
    expect(endOf(result.rest[result.rest.length - 1])).toBe(40);
    expect(await slices.ledger.takeSplitRequest('early', slice.start)).toBeNull();
  });
});
