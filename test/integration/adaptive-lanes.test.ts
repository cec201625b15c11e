/**
 * Adaptive lanes (`--concurrency auto`) against a loopback API whose limit the batch is not told,
 * on the dev server with the `http` processor, each compared with a batch that is told:
 * (a) at most K requests at once (429 with Retry-After: 1 beyond): against a batch at C = K;
 * (b) a rate of R a second: against a batch with `--rate-limit R/second`;
 * (c) at most K at once, halved mid-batch: the lanes follow.
 * The adaptive batch converges within 60 s to >= 80 % of the reference's throughput, and after
 * that fewer than 5 % of its requests are answered 429; each batch leaves one outcome per item,
 * its API answer, and the API saw each item succeed once. The figures are printed; BENCHMARKS.md
 * section (k) measures the same cases.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allOutcomes } from '../helpers/ledger-rows';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { score, startQuotaApi, type QuotaApi, type QuotaApiOptions } from '../../tools/support/quota-api-server';
import { convergence, followedAfterMs, refusedShare, span, steadyRate } from '../../tools/support/hidden-limit';
import { devServerSuite } from '../helpers/dev-server-suite';

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
      return handle.result();
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
    return { requests: server.requests, samples: await suite.ledger.laneSamples(batchId), manifest: summary };
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
    // The manifest records the lanes over time, within the bounds.
    expect(auto.samples.length).toBeGreaterThan(1);
    expect(auto.samples.every((s) => s.lanes <= 64)).toBe(true);
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
  }, 300_000);
});
