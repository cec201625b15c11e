/**
 * processSlice in a batch with a named rate limit (INVARIANTS.md I13), in a mocked activity
 * context on a real SQLite ledger: items wait for their token, a long wait stops the slice as a
 * timed wait, and a quota signal holds the key for every batch that names it.
 */
import { ActivityCancellationDetails } from '@temporalio/common';
import { defineBatchProcessor, defineProcessor, QuotaExhaustedError } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import type { RateLimitSpec } from '../../src/contract/batch-spec';
import { sliceHarness, makeSpec, range, endOf } from '../helpers/slice-harness';
import { waitFor } from '../helpers/wait-for';

const slices = sliceHarness();
const { textSource, sliceOf, startSlice } = slices;

let processorCount = 0;

/** A processor that records when each item started, and throws what `quota` says for an index. */
function timedProcessor(quota: (index: number) => Error | undefined = () => undefined) {
  const name = `rate-limit-test-${++processorCount}`;
  const started: { index: number; at: number }[] = [];
  registerProcessor(
    name,
    defineProcessor(async (item, ctx) => {
      started.push({ index: ctx.index, at: Date.now() });
      const err = quota(ctx.index);
      if (err) throw err;
      return item;
    }),
  );
  return { name, started };
}

const limit = (over: Partial<RateLimitSpec>): RateLimitSpec => ({ key: 'api', limit: 5, per: 'second', burst: 0, unit: 'items', ...over });

describe('processSlice with a named rate limit', () => {
  it('starts items no faster than the rate, sleeping out short waits, and finishes the slice', async () => {
    const proc = timedProcessor();
    const spec = makeSpec(textSource(20), proc.name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({}) });
    const slice = await sliceOf(spec, 1);

    const result = await startSlice('paced', spec, slice).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 10, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(proc.started.map((s) => s.index)).toEqual(range(slice.start, endOf(slice)));
    // 5 a second with no burst: one item every 200 ms, so 10 items span at least 1.8 s.
    const at = proc.started.map((s) => s.at);
    expect(at[9] - at[0]).toBeGreaterThanOrEqual(1800 - 20);
    for (let i = 5; i < at.length; i++) expect(at[i] - at[i - 5]).toBeGreaterThanOrEqual(1000 - 20);
  });

  it('a limit on a usage unit: each item is charged what it reports as it ends, and items wait while the period is spent', async () => {
    const name = `rate-limit-test-${++processorCount}`;
    const spans: { start: number; end: number }[] = [];
    registerProcessor(
      name,
      defineProcessor(async (item, ctx) => {
        const start = Date.now();
        ctx.reportUsage({ tokens: 100 });
        spans.push({ start, end: Date.now() });
        return item;
      }),
    );
    // 300 tokens a second, 100 an item: about 3 items a second once the first second is spent.
    const spec = makeSpec(textSource(20), name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({ limit: 300, unit: 'tokens' }) });
    const slice = await sliceOf(spec, 1);

    const result = await startSlice('tokens', spec, slice).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 10, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    // An item starts only while the key's tokens are above empty: with one lane, at most the
    // limit + 1 (an empty burst still lets one item start) + one item's usage in any second.
    const starts = spans.map((s) => s.start);
    for (let i = 0; i < starts.length; i++) {
      const inASecond = starts.filter((t) => t >= starts[i] && t < starts[i] + 1000).length;
      expect(inASecond * 100).toBeLessThanOrEqual(300 + 1 + 100);
    }
    expect(starts[9] - starts[0]).toBeGreaterThanOrEqual(2000 - 50);
    // The usage is the bucket's, kept apart from items under the same key name.
    expect((await slices.ledger.rateLimits()).map((k) => k.key)).toEqual(['api/tokens']);
  });

  it('stops the slice as a timed wait "paced on KEY" when the next token is further off than the heartbeat timeout', async () => {
    const proc = timedProcessor();
    const spec = makeSpec(textSource(20), proc.name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({ limit: 2, per: 'hour' }) });
    const slice = await sliceOf(spec, 1);

    const result = await startSlice('hourly', spec, slice).result;

    // The first item took the only token; the next is due in 30 minutes.
    expect(result).toMatchObject({ outcome: 'quota', pacedOn: 'api', nextIndex: slice.start + 1, tally: { succeeded: 1 } });
    expect(result.outcome === 'quota' && result.retryAfterMs).toBeGreaterThan(29 * 60_000);
    expect(proc.started.map((s) => s.index)).toEqual([slice.start]);
    // Nothing is left in flight: the wait costs no item.
    expect(await slices.ledger.inFlight('hourly', slice.start)).toBeNull();
  });

  it('a worker shutting down during a wait for a token stops the slice as a timed wait at once, with nothing to redo', async () => {
    const proc = timedProcessor();
    const spec = makeSpec(textSource(20), proc.name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({ limit: 6, per: 'minute' }) });
    const slice = await sliceOf(spec, 1);
    const attempt = startSlice('draining', spec, slice);
    // The first item took the token; the second waits 10 s for the next.
    await waitFor('the first item', async () => proc.started.length === 1, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const shutdownAt = Date.now();
    attempt.env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));

    const result = await attempt.result;

    expect(Date.now() - shutdownAt).toBeLessThan(1000);
    expect(result).toMatchObject({ outcome: 'quota', pacedOn: 'api', nextIndex: slice.start + 1, tally: { succeeded: 1, redone: 0 } });
    // The rest of the wait, for the workflow to sit out on its timer.
    expect(result.outcome === 'quota' && result.retryAfterMs).toBeGreaterThan(8000);
    expect(proc.started).toHaveLength(1);
    expect(await slices.ledger.inFlight('draining', slice.start)).toBeNull();
  });

  it('a quota signal in one batch holds the key for another batch naming it, which waits without starting an item', async () => {
    const spec = (name: string) =>
      makeSpec(textSource(20), name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({ limit: 1000, burst: 10 }) });
    const signalling = timedProcessor((index) => (index === 12 ? new QuotaExhaustedError(60_000) : undefined));
    const first = spec(signalling.name);
    const slice = await sliceOf(first, 1);

    const stopped = await startSlice('batch-a', first, slice).result;

    expect(stopped).toMatchObject({ outcome: 'quota', heldOn: 'api', retryAfterMs: 60_000, nextIndex: 12 });
    const [key] = await slices.ledger.rateLimits();
    expect(key).toMatchObject({ key: 'api', tokens: 0 });
    expect(key.heldUntil! - Date.now()).toBeGreaterThan(55_000);

    const other = timedProcessor();
    const waiting = await startSlice('batch-b', spec(other.name), slice).result;

    expect(waiting).toMatchObject({ outcome: 'quota', heldOn: 'api', nextIndex: slice.start, tally: { succeeded: 0 } });
    expect(waiting.outcome === 'quota' && waiting.retryAfterMs).toBeGreaterThan(55_000);
    expect(other.started).toEqual([]);
  });

  it('a short hold from another batch is slept out in the slice, which then runs every item', async () => {
    const proc = timedProcessor();
    const spec = makeSpec(textSource(20), proc.name, { sliceSize: 10, checkpointEvery: 20, rateLimit: limit({ limit: 1000, burst: 10 }) });
    const slice = await sliceOf(spec, 1);
    const heldUntil = await slices.ledger.holdRateLimit('api', 500, { limit: 1000, periodMs: 1000, burst: 10 }, 'batch-a');

    const result = await startSlice('batch-b', spec, slice).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 10, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(proc.started[0].at).toBeGreaterThanOrEqual(heldUntil);
  });

  it('with itemsPerCall, each item of a call takes its token before the call starts', async () => {
    const name = `rate-limit-batch-test-${++processorCount}`;
    const calls: { at: number; indexes: number[] }[] = [];
    registerProcessor(
      name,
      defineBatchProcessor(async (items) => {
        calls.push({ at: Date.now(), indexes: items.map((i) => i.index) });
        return items.map((i) => ({ result: i.item }));
      }),
    );
    const spec = makeSpec(textSource(20), name, { sliceSize: 10, checkpointEvery: 20, itemsPerCall: 5, rateLimit: limit({ limit: 10 }) });
    const slice = await sliceOf(spec, 1);

    const result = await startSlice('calls', spec, slice).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 10, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(calls.map((c) => c.indexes)).toEqual([range(10, 15), range(15, 20)]);
    // 10 a second: the second call's 5 tokens came due 500 ms after the first call's.
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(500 - 20);
  });

  it('with itemsPerCall, a long wait for a token of the call stops the slice before the call', async () => {
    const name = `rate-limit-batch-test-${++processorCount}`;
    const calls: number[][] = [];
    registerProcessor(
      name,
      defineBatchProcessor(async (items) => {
        calls.push(items.map((i) => i.index));
        return items.map((i) => ({ result: i.item }));
      }),
    );
    const spec = makeSpec(textSource(20), name, {
      sliceSize: 10,
      checkpointEvery: 20,
      itemsPerCall: 5,
      rateLimit: limit({ limit: 1, per: 'minute', burst: 2 }),
    });
    const slice = await sliceOf(spec, 1);

    const result = await startSlice('long-call', spec, slice).result;

    // Burst 2 at 1 a minute: 2 whole tokens, a third a second later (the sliver of slack set aside
    // for blocks refills first), then one a minute: the call of 5 never starts.
    expect(result).toMatchObject({ outcome: 'quota', pacedOn: 'api', nextIndex: slice.start, tally: { succeeded: 0 } });
    expect(calls).toEqual([]);
  });
});
