/**
 * (k) Adaptive lanes (`concurrency: auto`) against a loopback API whose limit the batch is not
 * told (tools/support/quota-api-server.ts), each beside a batch that is told, in the same run:
 * - at most K requests at once, 429 with Retry-After: 1 beyond: against a batch at C = K;
 * - R requests a second: against a batch with `--rate-limit R/second`;
 * - at most K at once, halved mid-batch: how long the lanes take to follow.
 * How convergence and the shares are measured is tools/support/hidden-limit.ts, shared with
 * test/integration/adaptive-lanes.test.ts. Every batch is checked as the test checks it: one
 * outcome per item, each item answered 200 once, nothing but 200s and 429s.
 */
import type { BenchEnv } from '../bench-env';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { log } from '../log';
import type { SpecOverrides } from '../plan';
import { startQuotaApi, type QuotaApi, type QuotaApiOptions } from '../../tools/support/quota-api-server';
import { convergence, followedAfterMs, refusedShare, span, steadyRate, type Convergence } from '../../tools/support/hidden-limit';

export interface AdaptiveLanesPlan {
  /** The lanes' bounds: `auto:1-max`. */
  max: number;
  inFlight: { limit: number; latencyMs: number; referenceItems: number; items: number };
  rate: { perSecond: number; latencyMs: number; referenceConcurrency: number; referenceItems: number; items: number };
  /** `from` at once, halved `afterMs` after the batch starts. */
  halving: { from: number; latencyMs: number; items: number; afterMs: number };
}

export interface HiddenLimitCase {
  /** The reference's 200s a second, its first and last second left out. */
  reference: number;
  referenceRun: WaymarkRun;
  adaptive: WaymarkRun;
  convergence: Convergence;
  requests: number;
}

export interface HalvingCase {
  from: number;
  to: number;
  /** The lanes at the last sample before the halving. */
  lanesBefore: number;
  /** From the halving to the first sample at or below the new limit; undefined if never. */
  followedAfterMs: number | undefined;
  /** 429s among the requests from then on. */
  refusedAfter: number;
  adaptive: WaymarkRun;
}

export interface AdaptiveLanesResult {
  max: number;
  inFlight: HiddenLimitCase & { limit: number; latencyMs: number };
  rate: HiddenLimitCase & { perSecond: number; latencyMs: number; referenceConcurrency: number };
  halving: HalvingCase & { latencyMs: number; afterMs: number };
}

/** One batch against an API of its own; fails the bench unless every item was answered 200 exactly once. */
async function against(
  env: BenchEnv,
  api: QuotaApiOptions,
  items: number,
  spec: SpecOverrides,
  during?: (api: QuotaApi) => () => void,
): Promise<{ run: WaymarkRun; api: QuotaApi }> {
  const server = await startQuotaApi(api);
  const stop = during?.(server);
  try {
    const run = await runWaymarkBatch(env, {
      file: itemsFile(env.dir, items),
      items,
      processor: 'http',
      options: { url: `${server.url}/enrich/{id}`, timeoutMs: 10_000 },
      // One window: the lanes are measured, not continue-as-new; a slice must fit in it.
      spec: { sliceSize: Math.min(200, items), checkpointEvery: items, ...spec },
    });
    const ok = server.requests.filter((r) => r.status === 200);
    const keys = new Set(ok.map((r) => r.idempotencyKey));
    const other = server.requests.filter((r) => r.status !== 200 && r.status !== 429);
    if (ok.length !== items || keys.size !== items || other.length > 0) {
      throw new Error(
        `batch ${run.batchId}: the API answered ${ok.length} requests 200 for ${keys.size} distinct items of ${items}, and ${other.length} with neither 200 nor 429; ` +
          'every item should succeed exactly once',
      );
    }
    return { run, api: server };
  } finally {
    stop?.();
    await server.close();
  }
}

async function hiddenLimit(
  env: BenchEnv,
  api: QuotaApiOptions,
  reference: { items: number; spec: SpecOverrides },
  items: number,
  max: number,
) {
  const told = await against(env, api, reference.items, reference.spec);
  const rate = steadyRate(told.api.requests);
  const found = await against(env, api, items, { concurrency: { auto: { min: 1, max } } });
  return {
    reference: rate,
    referenceRun: told.run,
    adaptive: found.run,
    convergence: convergence(found.api.requests, rate),
    requests: found.api.requests.length,
  };
}

function describe(label: string, c: HiddenLimitCase): void {
  const after = c.convergence.convergedAfterMs;
  log(
    `  ${label}: reference ${c.reference.toFixed(1)}/s; adaptive converged ${after === undefined ? 'never' : `after ${(after / 1000).toFixed(1)} s`}, ` +
      `then ${c.convergence.rateAfter.toFixed(1)}/s (${(c.convergence.shareOfReference * 100).toFixed(0)} %), ` +
      `${(c.convergence.refusedAfter * 100).toFixed(2)} % answered 429 after, ${(c.convergence.refusedInAll * 100).toFixed(2)} % of all ${c.requests}`,
  );
}

export async function measureAdaptiveLanes(env: BenchEnv, plan: AdaptiveLanesPlan): Promise<AdaptiveLanesResult> {
  const k = plan.inFlight;
  const inFlight = {
    limit: k.limit,
    latencyMs: k.latencyMs,
    ...(await hiddenLimit(
      env,
      { maxInFlight: k.limit, latencyMs: k.latencyMs },
      { items: k.referenceItems, spec: { concurrency: k.limit } },
      k.items,
      plan.max,
    )),
  };
  describe(`at most ${k.limit} at once`, inFlight);

  const r = plan.rate;
  const rate = {
    perSecond: r.perSecond,
    latencyMs: r.latencyMs,
    referenceConcurrency: r.referenceConcurrency,
    ...(await hiddenLimit(
      env,
      { capacity: r.perSecond, periodMs: 1000, latencyMs: r.latencyMs },
      {
        items: r.referenceItems,
        spec: {
          concurrency: r.referenceConcurrency,
          rateLimit: { key: `bench-hidden-rate-${Date.now()}`, limit: r.perSecond, per: 'second' },
        },
      },
      r.items,
      plan.max,
    )),
  };
  describe(`${r.perSecond} a second`, rate);

  const h = plan.halving;
  const to = Math.floor(h.from / 2);
  let halvedAt = 0;
  const halved = await against(
    env,
    { maxInFlight: h.from, latencyMs: h.latencyMs },
    h.items,
    { concurrency: { auto: { min: 1, max: plan.max } } },
    (api) => {
      const timer = setTimeout(() => {
        halvedAt = Date.now();
        api.setLimits({ maxInFlight: to });
      }, h.afterMs);
      return () => clearTimeout(timer);
    },
  );
  const samples = halved.run.lanes?.samples ?? [];
  if (halvedAt === 0) throw new Error(`the halving batch ended within ${h.afterMs} ms, before its limit halved: give it more items`);
  const followed = followedAfterMs(samples, halvedAt, to);
  const settled = halvedAt + (followed ?? 0);
  const halving = {
    from: h.from,
    to,
    latencyMs: h.latencyMs,
    afterMs: h.afterMs,
    lanesBefore: samples.filter((s) => s.at < halvedAt).at(-1)?.lanes ?? 0,
    followedAfterMs: followed,
    refusedAfter: refusedShare(halved.api.requests, settled, span(halved.api.requests).to),
    adaptive: halved.run,
  };
  log(
    `  halved from ${h.from} to ${to}: ${halving.lanesBefore} lanes before, at or below ${to} after ` +
      `${followed === undefined ? 'never' : `${(followed / 1000).toFixed(1)} s`}, ${(halving.refusedAfter * 100).toFixed(2)} % answered 429 from then on`,
  );
  return { max: plan.max, inFlight, rate, halving };
}
