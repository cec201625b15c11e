/**
 * Adaptive lanes (`--concurrency auto`) against a loopback API whose limit the batch is not told,
 * on the dev server with the `http` processor, each compared with a batch that is told:
 * (a) at most K requests at once (429 with Retry-After: 1 beyond): against a batch at C = K;
 * (b) a rate of R a second: against a batch with `--rate-limit R/second`;
 * (c) at most K at once, halved mid-batch: the lanes follow, and status shows the cut and its cause;
 * (d) two batches naming the same rate-limit key: the second starts at the lanes the first found.
 * The adaptive batch converges within 60 s to >= 80 % of the reference's throughput, and after
 * that fewer than 5 % of its requests are answered 429; each batch leaves one outcome per item,
 * its API answer, and the API saw each item succeed once. The lanes are read where a user reads
 * them: the progress query (status, `--wait`, the Web UI) and the manifest. The figures are
 * printed; the bench's adaptive-lanes section measures the same cases.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allOutcomes } from '../helpers/ledger-rows';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { score, startQuotaApi, type QuotaApi, type QuotaApiOptions } from '../../tools/support/quota-api-server';
import { convergence, followedAfterMs, refusedShare, span, steadyRate } from '../../tools/support/hidden-limit';
import { devServerSuite } from '../helpers/dev-server-suite';
import { runCli } from '../cli/run-cli';
import { progressQuery } from '../../src/contract/messages';
import type { AdaptiveLanesProgress } from '../../src/contract/adaptive-concurrency';

/** What the progress query (status, `--wait`, the Web UI) showed of the lanes, and when. */
interface Shown {
  at: number;
  lanes: AdaptiveLanesProgress;
}

const TASK_QUEUE = 'adaptive-lanes';
const AUTO = { auto: { min: 1, max: 64 } };

describe('adaptive lanes against an API with a limit they are not told', () => {
  const apis: QuotaApi[] = [];
  const suite = devServerSuite('waymark-adaptive-', { beforeTeardown: () => Promise.all(apis.map((api) => api.close())) });

  /** One batch of `items` against an API of its own; checks every item's outcome, and returns what the API saw. */
  async function run(
    batchId: string,
    items: number,
    api: QuotaApiOptions,
    spec: Partial<BatchSpecInput>,
    during?: (api: QuotaApi) => void,
  ) {
    const shown: Shown[] = [];
    const server = await startQuotaApi(api);
    apis.push(server);
    const file = path.join(suite.dir, `${batchId}.jsonl`);
    fs.writeFileSync(file, Array.from({ length: items }, (_, i) => JSON.stringify({ id: `${batchId} ${i}` })).join('\n') + '\n');
    const validated = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'http', options: { url: `${server.url}/enrich/{id}`, timeoutMs: 10_000 } },
      sliceSize: 200,
      checkpointEvery: items,
      ...spec,
    });
    const worker = await suite.worker(TASK_QUEUE);
    const summary = await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, validated, batchId, TASK_QUEUE);
      during?.(server);
      // As `waymark status` reads it, once a second. Each query is awaited before the connection
      // closes: one the client retries under load would otherwise fire on a closed channel.
      const queries = new Set<Promise<void>>();
      const poll = setInterval(() => {
        const query = handle.query(progressQuery).then(
          (p) => void (p.adaptiveLanes && shown.push({ at: Date.now(), lanes: p.adaptiveLanes })),
          () => undefined,
        );
        queries.add(query);
        void query.finally(() => queries.delete(query));
      }, 1000);
      try {
        return await handle.result();
      } finally {
        clearInterval(poll);
        await Promise.all(queries);
      }
    });
    expect(summary).toMatchObject({ status: 'completed', total: items, succeeded: items, failed: 0, pending: 0 });
    const rows = await allOutcomes(suite.ledger, batchId);
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: items }, (_, i) => i));
    for (const row of rows) {
      const id = `${batchId} ${row.index}`;
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, result: { id, score: score(id) } });
    }
    const ok = server.requests.filter((r) => r.status === 200);
    expect(ok).toHaveLength(items);
    expect(new Set(ok.map((r) => r.idempotencyKey)).size).toBe(items);
    expect(server.requests.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    return { requests: server.requests, samples: summary.lanes?.samples ?? [], manifest: summary, shown };
  }

  function report(label: string, reference: number, adaptive: ReturnType<typeof convergence>, requests: number) {
    console.log(
      `${label}: reference ${reference.toFixed(1)}/s; adaptive converged after ${((adaptive.convergedAfterMs ?? NaN) / 1000).toFixed(1)} s, ` +
        `then ${adaptive.rateAfter.toFixed(1)}/s (${(adaptive.shareOfReference * 100).toFixed(0)} % of the reference), ` +
        `${(adaptive.refusedAfter * 100).toFixed(2)} % of requests answered 429 after converging, ` +
        `${(adaptive.refusedInAll * 100).toFixed(2)} % of all ${requests}`,
    );
  }

  it('(a) at most 8 requests at once: converge within 60 s to >= 80 % of C = 8, then < 5 % answered 429', async () => {
    const api = { maxInFlight: 8, latencyMs: 100 };
    const fixed = await run('inflight-fixed', 1200, api, { concurrency: 8 });
    expect(refusedShare(fixed.requests, 0, Infinity)).toBe(0);
    const reference = steadyRate(fixed.requests);
    const auto = await run('inflight-auto', 3200, api, { concurrency: AUTO });
    const adaptive = convergence(auto.requests, reference);
    report('(a) 8 at once', reference, adaptive, auto.requests.length);
    expect(adaptive.convergedAfterMs).toBeLessThanOrEqual(60_000);
    expect(adaptive.shareOfReference).toBeGreaterThanOrEqual(0.8);
    expect(adaptive.refusedAfter).toBeLessThan(0.05);
    // The manifest records the lanes over time, within the bounds, and the cuts with their cause.
    expect(fixed.manifest.lanes).toBeUndefined();
    expect(auto.manifest.lanes).toMatchObject({ min: 1, max: 64, lastCut: { cause: 'http 429' } });
    expect(auto.manifest.lanes!.cuts).toBeGreaterThan(0);
    expect(auto.samples.length).toBeGreaterThan(1);
    expect(auto.samples.every((s) => s.lanes >= 0 && s.lanes <= 64)).toBe(true);
    expect(auto.samples.some((s) => s.cutCause === 'http 429')).toBe(true);
    // Status showed lanes that ran, within the bounds, while the batch ran.
    expect(auto.shown.some((s) => s.lanes.batchLanes > 1 && s.lanes.batchLanes <= 64)).toBe(true);
  }, 300_000);

  it('(b) 50 requests a second: converge within 60 s to >= 80 % of --rate-limit 50/second, then < 5 % answered 429', async () => {
    const api = { capacity: 50, periodMs: 1000, latencyMs: 200 };
    const limited = await run('rate-limited', 1600, api, { concurrency: 16, rateLimit: { key: 'hidden-rate', limit: 50, per: 'second' } });
    const reference = steadyRate(limited.requests);
    const auto = await run('rate-auto', 2400, api, { concurrency: AUTO });
    const adaptive = convergence(auto.requests, reference);
    report('(b) 50 a second', reference, adaptive, auto.requests.length);
    expect(adaptive.convergedAfterMs).toBeLessThanOrEqual(60_000);
    expect(adaptive.shareOfReference).toBeGreaterThanOrEqual(0.8);
    expect(adaptive.refusedAfter).toBeLessThan(0.05);
  }, 300_000);

  it('(c) 12 at once, halved to 6 mid-batch: the lanes follow within 30 s', async () => {
    let halvedAt = 0;
    const timers: NodeJS.Timeout[] = [];
    const auto = await run('halved-auto', 4000, { maxInFlight: 12, latencyMs: 100 }, { concurrency: AUTO }, (api) => {
      timers.push(
        setTimeout(() => {
          halvedAt = Date.now();
          api.setLimits({ maxInFlight: 6 });
        }, 20_000),
      );
    });
    timers.forEach(clearTimeout);
    expect(halvedAt).toBeGreaterThan(0);
    const lanesBefore = auto.samples.filter((s) => s.at < halvedAt).at(-1)!.lanes;
    const followed = followedAfterMs(auto.samples, halvedAt, 6);
    const { to } = span(auto.requests);
    const settled = halvedAt + (followed ?? 0);
    console.log(
      `(c) halved: ${lanesBefore} lanes before the halving, at or below 6 after ${((followed ?? NaN) / 1000).toFixed(1)} s; ` +
        `${(refusedShare(auto.requests, settled, to) * 100).toFixed(2)} % answered 429 after that; ` +
        `lanes over time ${auto.samples.map((s) => `${((s.at - halvedAt) / 1000).toFixed(1)}s:${s.lanes}${s.cutCause ? '*' : ''}`).join(' ')}`,
    );
    expect(lanesBefore).toBeGreaterThan(6);
    expect(followed).toBeLessThanOrEqual(30_000);
    expect(refusedShare(auto.requests, settled, to)).toBeLessThan(0.05);
    // Status showed the cut the halving caused, with its cause, within 30 s too.
    const seen = auto.shown.find((s) => s.lanes.lastCut !== undefined && s.lanes.lastCut.at >= halvedAt);
    console.log(`(c) status showed a cut after ${(((seen?.at ?? NaN) - halvedAt) / 1000).toFixed(1)} s: ${JSON.stringify(seen?.lanes)}`);
    expect(seen).toBeDefined();
    expect(seen!.at - halvedAt).toBeLessThanOrEqual(30_000);
    expect(seen!.lanes.lastCut!.cause).toBe('http 429');
    // `waymark status` of the finished batch, from its manifest: the lanes, the bounds and the last cut with its cause.
    const shownByCli = await runCli(['status', 'halved-auto'], { cwd: suite.dir, env: { TEMPORAL_ADDRESS: suite.env.address } });
    expect(shownByCli.stdout).toMatch(
      /^adaptive {2}\d+ running of \d+ found \(auto 1-64\); last cut \d+ → \d+ on http 429 at \S+, \d+ cuts in all$/m,
    );
  }, 300_000);

  it('(d) two batches naming the same rate-limit key: the second starts at the lanes the first found, without a burst of 429s', async () => {
    const api = { maxInFlight: 8, latencyMs: 100 };
    // A rate far above what the API allows: the key is named for its pool, not to pace.
    const shared = { concurrency: AUTO, rateLimit: { key: 'hidden-in-flight', limit: 1000, per: 'second' as const } };
    const first = await run('shared-first', 1600, api, shared);
    const second = await run('shared-second', 1600, api, shared);
    const firstSeconds = (r: typeof first) => {
      const { from } = span(r.requests);
      return refusedShare(r.requests, from, from + 10_000);
    };
    console.log(
      `(d) shared key: first batch's lanes start at ${first.samples[0]?.lanes}, ${(firstSeconds(first) * 100).toFixed(2)} % answered 429 in its first 10 s; ` +
        `second's start at ${second.samples[0]?.lanes}, ${(firstSeconds(second) * 100).toFixed(2)} % in its first 10 s, ` +
        `${(refusedShare(second.requests, 0, Infinity) * 100).toFixed(2)} % of all its requests`,
    );
    expect(first.samples[0].lanes).toBe(1);
    // The pool the first left: 6 or 7 lanes (a cut to 3/4 of 8 or 9), not slow start from 1 again.
    expect(second.samples[0].lanes).toBeGreaterThanOrEqual(5);
    expect(refusedShare(second.requests, 0, Infinity)).toBeLessThan(0.05);
  }, 300_000);
});
