/**
 * What every ledger's named rate limits must do (INVARIANTS.md I13), run by sqlite-ledger.test.ts
 * and postgres-ledger.test.ts against their own store. Time is a fake clock: each take is told
 * its `now`, so minute, hour and day periods run in moments.
 */
import type { Ledger } from '../../src/ledger/ledger';
import type { RateLimitSpec } from '../../src/contract/batch-spec';
import { RATE_PERIODS } from '../../src/contract/batch-spec';
import { Pacer, rateOf } from '../../src/activities/pacer';
import type { LedgerStore } from './ledger-contract';
import { mostInAnyWindow } from '../../tools/support/rate-windows';

const T0 = Date.UTC(2030, 0, 1);

/**
 * Workers that each run items of their own duration back to back, each item waiting for its
 * pacer first, as processSlice does; every worker has its own pacer (its own block of tokens),
 * and they alternate between two batches. Returns every item's start time, in order.
 */
async function runWorkers(ledger: Ledger, limit: RateLimitSpec, itemMs: number[], periods: number): Promise<number[]> {
  const end = T0 + periods * RATE_PERIODS[limit.per];
  const workers = itemMs.map((ms, i) => ({ ms, next: T0, pacer: new Pacer(ledger, limit, `batch-${i % 2}`) }));
  const starts: number[] = [];
  for (;;) {
    const w = workers.reduce((a, b) => (b.next < a.next ? b : a));
    if (w.next >= end) return starts;
    const wait = await w.pacer.acquire(w.next, w.next);
    if (wait === undefined) {
      starts.push(w.next);
      w.next += w.ms;
    } else {
      w.next += wait.waitMs;
    }
  }
}

/**
 * As runWorkers, for a limit on a usage unit: each item waits for its pacer as it starts, runs
 * its duration, and its usage (a different amount each item) is charged when it ends. Returns
 * every charge, at the item's end.
 */
async function runUsageWorkers(ledger: Ledger, limit: RateLimitSpec, itemMs: number[], usage: (n: number) => number, periods: number) {
  const end = T0 + periods * RATE_PERIODS[limit.per];
  const rate = rateOf(limit);
  const workers = itemMs.map((ms, i) => ({
    ms,
    next: T0,
    ending: undefined as { at: number; amount: number } | undefined,
    pacer: new Pacer(ledger, limit, `batch-${i % 2}`),
  }));
  const charges: { at: number; amount: number }[] = [];
  let items = 0;
  for (;;) {
    const due = (w: (typeof workers)[number]) => w.ending?.at ?? w.next;
    const w = workers.reduce((a, b) => (due(b) < due(a) ? b : a));
    if (due(w) >= end) return charges;
    if (w.ending !== undefined) {
      await ledger.chargeUsage(w.pacer.key, w.ending.amount, rate, 'batch', w.ending.at);
      charges.push(w.ending);
      w.next = w.ending.at;
      w.ending = undefined;
      continue;
    }
    const wait = await w.pacer.acquire(w.next, w.next);
    if (wait === undefined) w.ending = { at: w.next + w.ms, amount: usage(items++) };
    else w.next += wait.waitMs;
  }
}

/** The most charged in any half-open window [t, t + periodMs). */
function mostChargedInAnyWindow(charges: { at: number; amount: number }[], periodMs: number): number {
  const sorted = [...charges].sort((a, b) => a.at - b.at);
  let most = 0;
  let sum = 0;
  let first = 0;
  for (const c of sorted) {
    sum += c.amount;
    while (c.at - sorted[first].at >= periodMs) sum -= sorted[first++].amount;
    most = Math.max(most, sum);
  }
  return most;
}

export function rateLimitContract(newStore: () => Promise<LedgerStore>): void {
  let store: LedgerStore;
  let ledger: Ledger;
  beforeEach(async () => {
    store = await newStore();
    ledger = await store.open();
  });
  afterEach(async () => {
    await ledger.close();
    await store.dispose();
  });

  // Item durations (ms) per worker: fast enough that the limit, not the items, sets the pace.
  it.each([
    { limit: { key: 'api', limit: 120, per: 'minute', burst: 10, unit: 'items' }, itemMs: [20, 35, 50] },
    { limit: { key: 'api', limit: 100, per: 'hour', burst: 0, unit: 'items' }, itemMs: [1000, 3000, 5000] },
    { limit: { key: 'api', limit: 50, per: 'day', burst: 4, unit: 'items' }, itemMs: [60_000, 90_000, 120_000] },
  ] as { limit: RateLimitSpec; itemMs: number[] }[])(
    'three workers of two batches start at most limit + burst items in every window of a $limit.per, at >= 90% of the limit (I13)',
    async ({ limit, itemMs }) => {
      const periods = 10;
      const starts = await runWorkers(ledger, limit, itemMs, periods);
      const periodMs = RATE_PERIODS[limit.per];
      expect(mostInAnyWindow(starts, periodMs)).toBeLessThanOrEqual(limit.limit + limit.burst);
      // After the first period (which may spend the burst), the achieved rate.
      const steady = starts.filter((t) => t >= T0 + periodMs).length / (periods - 1);
      expect(steady).toBeGreaterThanOrEqual(0.9 * limit.limit);
    },
  );

  // Usage per item between 50 and 149 units; items fast enough that the limit sets the pace.
  it.each([
    { limit: { key: 'llm', limit: 6000, per: 'minute', burst: 0, unit: 'tokens' }, itemMs: [200, 350, 500] },
    { limit: { key: 'llm', limit: 20_000, per: 'hour', burst: 1000, unit: 'tokens' }, itemMs: [2000, 5000, 9000] },
    { limit: { key: 'llm', limit: 20_000, per: 'day', burst: 500, unit: 'tokens' }, itemMs: [60_000, 300_000, 600_000] },
  ] as { limit: RateLimitSpec; itemMs: number[] }[])(
    'a usage unit charged as items end: at most limit + burst + items in flight x the most one uses in every window of a $limit.per, at >= 90% of the limit (I13)',
    async ({ limit, itemMs }) => {
      const periods = 10;
      const usage = (n: number) => 50 + ((n * 37) % 100);
      const charges = await runUsageWorkers(ledger, limit, itemMs, usage, periods);
      const periodMs = RATE_PERIODS[limit.per];
      const bound = limit.limit + Math.max(limit.burst, 1) + itemMs.length * 149;
      expect(mostChargedInAnyWindow(charges, periodMs)).toBeLessThanOrEqual(bound);
      const steady = charges.filter((c) => c.at >= T0 + periodMs).reduce((sum, c) => sum + c.amount, 0) / (periods - 1);
      expect(steady).toBeGreaterThanOrEqual(0.9 * limit.limit);
      // The key is kept apart from the same name counting items: `llm/tokens`.
      expect((await ledger.rateLimits(T0)).map((k) => k.key)).toEqual(['llm/tokens']);
    },
  );

  it('holds even for blocks taken just before a window and spent at its start, as late as useWithinMs allows (I13)', async () => {
    const limit: RateLimitSpec = { key: 'api', limit: 120, per: 'minute', burst: 10, unit: 'items' };
    const rate = rateOf(limit);
    const starts: number[] = [];
    // Workers empty the full bucket at T0 and start those items as late as they may.
    for (;;) {
      const take = await ledger.takeTokens('api', 100, rate, 'b', T0);
      if (take.granted === 0) break;
      for (let i = 0; i < take.granted; i++) starts.push(T0 + take.useWithinMs);
    }
    // From then on, every token is spent the moment it is due.
    const from = starts[0];
    for (let t = from; t < from + 2 * RATE_PERIODS.minute;) {
      const take = await ledger.takeTokens('api', 100, rate, 'b', t);
      for (let i = 0; i < take.granted; i++) starts.push(t);
      if (take.granted === 0) t = take.retryAt!;
    }
    // The window that opens as the late block is spent holds limit + burst, and no more.
    expect(mostInAnyWindow(starts, RATE_PERIODS.minute)).toBe(limit.limit + limit.burst);
  });

  it('grants tokens in blocks when the burst allows, so a fast limit costs a take per block', async () => {
    const rate = rateOf({ key: 'fast', limit: 100, per: 'second', burst: 20, unit: 'items' });
    const take = await ledger.takeTokens('fast', 50, rate, 'b', T0);
    // Half the burst (10) is slack for blocks: a block of 11, to be used within 100 ms.
    expect(take).toMatchObject({ granted: 11, now: T0, useWithinMs: 100 });
    const none = await ledger.takeTokens('fast', 1, rate, 'b', T0);
    expect(none).toMatchObject({ granted: 0, retryAt: T0 + 10 });
  });

  it('without a burst, grants one token at a time at the rate, and says when the next is due', async () => {
    const rate = rateOf({ key: 'slow', limit: 60, per: 'minute', burst: 0, unit: 'items' });
    expect(await ledger.takeTokens('slow', 5, rate, 'b', T0)).toMatchObject({ granted: 1, useWithinMs: 0 });
    expect(await ledger.takeTokens('slow', 5, rate, 'b', T0 + 400)).toMatchObject({ granted: 0, retryAt: T0 + 1000 });
    expect(await ledger.takeTokens('slow', 5, rate, 'b', T0 + 1000)).toMatchObject({ granted: 1 });
  });

  it('never grants more than the bucket holds to takes at the same moment', async () => {
    const rate = rateOf({ key: 'k', limit: 10, per: 'minute', burst: 20, unit: 'items' });
    const takes = await Promise.all(Array.from({ length: 30 }, (_, i) => ledger.takeTokens('k', 1, rate, `b${i % 3}`, T0)));
    // 20 whole tokens: the burst plus one, less a sliver of slack (10 a minute leaves little to share).
    expect(takes.reduce((sum, t) => sum + t.granted, 0)).toBe(20);
  });

  it('two batches declaring different rates for one key: the strictest wins, a laxer one only once the strict one was not declared for a period', async () => {
    const lax = rateOf({ key: 'k', limit: 100, per: 'minute', burst: 0, unit: 'items' });
    const strict = rateOf({ key: 'k', limit: 1, per: 'second', burst: 0, unit: 'items' });
    expect((await ledger.takeTokens('k', 1, lax, 'lax-batch', T0)).rate).toEqual(lax);
    expect((await ledger.takeTokens('k', 1, strict, 'strict-batch', T0 + 1000)).rate).toEqual(strict);
    // The strict batch declared it 500 ms ago: the lax batch runs at the strict rate.
    expect((await ledger.takeTokens('k', 1, lax, 'lax-batch', T0 + 1500)).rate).toEqual(strict);
    expect((await ledger.rateLimits(T0 + 1500))[0]).toMatchObject({ key: 'k', rate: strict, declaredBy: 'strict-batch' });
    // A second after the strict batch's last take, its rate lapses and the lax one takes over.
    expect((await ledger.takeTokens('k', 1, lax, 'lax-batch', T0 + 2000)).rate).toEqual(lax);
    expect((await ledger.rateLimits(T0 + 2000))[0]).toMatchObject({ rate: lax, declaredBy: 'lax-batch' });
  });

  it('a hold stops every batch on the key until its end, then the key refills from empty', async () => {
    const rate = rateOf({ key: 'api', limit: 60, per: 'minute', burst: 5, unit: 'items' });
    await ledger.takeTokens('api', 1, rate, 'a', T0);
    expect(await ledger.holdRateLimit('api', 30_000, rate, 'a', T0)).toBe(T0 + 30_000);
    // A shorter hold from another batch does not cut it short.
    expect(await ledger.holdRateLimit('api', 5_000, rate, 'b', T0 + 1000)).toBe(T0 + 30_000);
    const held = await ledger.takeTokens('api', 1, rate, 'b', T0 + 10_000);
    expect(held).toMatchObject({ granted: 0, retryAt: T0 + 30_000, heldUntil: T0 + 30_000 });
    expect(await ledger.rateLimits(T0 + 10_000)).toEqual([
      { key: 'api', rate, tokens: 0, heldUntil: T0 + 30_000, declaredBy: 'b', declaredAt: T0 + 10_000 },
    ]);
    // At the hold's end the bucket is empty: the first token comes a second later, at the rate.
    expect(await ledger.takeTokens('api', 1, rate, 'b', T0 + 30_000)).toMatchObject({ granted: 0, retryAt: T0 + 31_000 });
    expect(await ledger.takeTokens('api', 1, rate, 'a', T0 + 31_000)).toMatchObject({ granted: 1 });
    expect((await ledger.rateLimits(T0 + 40_000))[0]).toMatchObject({ tokens: 5 });
  });

  it('keeps a key across a reopen of the ledger (a worker restart)', async () => {
    const rate = rateOf({ key: 'api', limit: 60, per: 'hour', burst: 2, unit: 'items' });
    await ledger.holdRateLimit('api', 60_000, rate, 'a', T0);
    await ledger.close();
    ledger = await store.open();
    expect(await ledger.takeTokens('api', 1, rate, 'a', T0 + 1000)).toMatchObject({ granted: 0, retryAt: T0 + 60_000 });
  });
}
