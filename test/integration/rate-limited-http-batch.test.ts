/**
 * I13 with a real API: two `http` batches on the dev server name one rate limit, 12 items a
 * second, against a loopback API whose own quota is 20 requests a second (429 beyond it): the
 * limit + burst + the 8 lanes in flight, since a lane's request reaches the API a little after
 * its item took its token, so each lane can carry one request into the next second. Shared
 * through the ledger, the limit keeps both batches together under the API's quota: no request is
 * refused, and the two reach at least 90 % of the limit between them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allOutcomes } from '../helpers/ledger-rows';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { devServerSuite } from '../helpers/dev-server-suite';
import { mostInAnyWindow, rateAfterFirstPeriod } from '../../tools/support/rate-windows';

const TASK_QUEUE = 'rate-limited-http-batch';
const ITEMS_PER_BATCH = 80;
const LIMIT = 12;
const CONCURRENCY = 4;
const API_CAPACITY = LIMIT + 2 * CONCURRENCY;

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
        concurrency: CONCURRENCY,
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

    const at = api.requests.map((r) => r.at);
    const refused = api.requests.filter((r) => r.status !== 200);
    const most = mostInAnyWindow(at, 1000);
    const rate = rateAfterFirstPeriod(at, 1000);
    console.log(
      `rate-limited http batches: ${at.length} requests in ${Math.max(...at) - Math.min(...at)} ms, ${refused.length} answered 429, ` +
        `${rate.toFixed(1)} a second after the first (limit ${LIMIT}), at most ${most} in any second (API quota ${API_CAPACITY})`,
    );

    for (const summary of summaries) {
      expect(summary).toMatchObject({ status: 'completed', succeeded: ITEMS_PER_BATCH, failed: 0, pending: 0 });
    }
    for (const batchId of ['first', 'second']) {
      expect((await allOutcomes(suite.ledger, batchId)).every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    }
    expect(refused).toEqual([]);
    expect(at).toHaveLength(2 * ITEMS_PER_BATCH);
    // After the first second (which spends the one token a new bucket starts with), at >= 90% of the limit.
    expect(most).toBeLessThanOrEqual(API_CAPACITY);
    expect(rate).toBeGreaterThanOrEqual(0.9 * LIMIT);
    expect(rate).toBeLessThanOrEqual(LIMIT * 1.05);
  });
});
