/**
 * I13 with a real API: two `http` batches on the dev server name one rate limit, 18 items a
 * second, against a loopback API whose own quota is 20 requests a second (429 beyond it). Shared
 * through the ledger, the limit keeps both batches together under the API's quota: no request is
 * refused, and the two reach at least 90 % of the limit between them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allOutcomes } from '../helpers/ledger-rows';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'rate-limited-http-batch';
const ITEMS_PER_BATCH = 100;
const API_CAPACITY = 20;
const LIMIT = 18;

describe('two http batches sharing a named rate limit below the API quota', () => {
  let api: QuotaApi;
  const suite = devServerSuite('waymark-rate-limited-http-', { beforeTeardown: () => api?.close() });

  beforeAll(async () => {
    api = await startQuotaApi({ capacity: API_CAPACITY, periodMs: 1000 });
  });

  it('meet no 429, and together start items at >= 90% of the limit (I13)', async () => {
    const specFor = (name: string) => {
      const file = path.join(suite.dir, `${name}.jsonl`);
      fs.writeFileSync(file, Array.from({ length: ITEMS_PER_BATCH }, (_, i) => JSON.stringify({ id: `${name} ${i}` })).join('\n') + '\n');
      return validateSpecForStart({
        source: { kind: 'jsonl', path: file },
        processor: { name: 'http', options: { url: `${api.url}/enrich/{id}`, timeoutMs: 5000 } },
        sliceSize: 10,
        checkpointEvery: ITEMS_PER_BATCH,
        concurrency: 4,
        rateLimit: { key: 'enrich-api', limit: LIMIT, per: 'second' },
      });
    };

    const worker = await suite.worker(TASK_QUEUE);
    const { summaries, details } = await worker.runUntil(async () => {
      const handles = await Promise.all(['first', 'second'].map((name) => startBatch(suite.env.client, specFor(name), name, TASK_QUEUE)));
      return { summaries: await Promise.all(handles.map((h) => h.result())), details: await (await handles[0].describe()).staticDetails() };
    });

    // The Web UI's static details name the limit.
    expect(details).toContain(`- rate limit: enrich-api: ${LIMIT} items per second, burst 0`);

    for (const summary of summaries) {
      expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS_PER_BATCH, failed: 0, pending: 0 });
    }
    for (const batchId of ['first', 'second']) {
      expect((await allOutcomes(suite.ledger, batchId)).every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    }
    expect(api.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(api.requests).toHaveLength(2 * ITEMS_PER_BATCH);

    // Requests as the API saw them: within its quota in every second (a request reaches the API a
    // few ms after its item took its token, so a second there may hold one more than the limit),
    // and after the first second (which spends the one token a new bucket starts with) at >= 90% of the limit.
    const at = api.requests.map((r) => r.at).sort((a, b) => a - b);
    let first = 0;
    let most = 0;
    for (let last = 0; last < at.length; last++) {
      while (at[last] - at[first] >= 1000) first++;
      most = Math.max(most, last - first + 1);
    }
    expect(most).toBeLessThanOrEqual(API_CAPACITY);
    const steady = at.filter((t) => t >= at[0] + 1000);
    const rate = (steady.length - 1) / ((steady[steady.length - 1] - steady[0]) / 1000);
    expect(rate).toBeGreaterThanOrEqual(0.9 * LIMIT);
    expect(rate).toBeLessThanOrEqual(LIMIT * 1.05);
    console.log(
      `rate-limited http batches: ${at.length} requests in ${at[at.length - 1] - at[0]} ms, 0 answered 429, ` +
        `${rate.toFixed(1)} a second after the first (limit ${LIMIT}), at most ${most} in any second`,
    );
  });
});
