/**
 * I7 with a real API: the `http` processor on the dev server against a loopback API that keeps
 * its own quota (20 requests per 2 s) and answers 429 with Retry-After beyond it. With no limit
 * set in the spec, 200 items at C = 4 run into the quota again and again; the batch waits what
 * Retry-After says each time, spends no attempt on it, and completes with every item exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allOutcomes } from '../helpers/ledger-rows';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { score, startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'http-quota-batch';
const ITEMS = 200;
const CAPACITY = 20;
const PERIOD_MS = 2000;

describe('an http batch against an API with a small quota', () => {
  let api: QuotaApi;
  const suite = devServerSuite('waymark-http-quota-', { beforeTeardown: () => api?.close() });

  beforeAll(async () => {
    api = await startQuotaApi({ capacity: CAPACITY, periodMs: PERIOD_MS, bearerToken: 'token-for-test' });
  });

  it('meets 429s, waits what Retry-After says, and completes: 0 lost, 0 duplicated, no attempt charged', async () => {
    const file = path.join(suite.dir, 'users.jsonl');
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => JSON.stringify({ id: `user ${i}` })).join('\n') + '\n');
    process.env.WAYMARK_TEST_QUOTA_API_TOKEN = 'token-for-test';
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: {
        name: 'http',
        options: {
          url: `${api.url}/enrich/{id}`,
          headers: { Authorization: 'Bearer ${env:WAYMARK_TEST_QUOTA_API_TOKEN}' },
          timeoutMs: 5000,
        },
      },
      sliceSize: 10,
      checkpointEvery: ITEMS,
      concurrency: 4,
    });
    // The token stays on the worker: it is in no part of the spec the workflow gets.
    expect(JSON.stringify(spec)).not.toContain('token-for-test');

    const started = Date.now();
    const worker = await suite.worker(TASK_QUEUE);
    const { summary, history } = await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, spec, 'http-quota', TASK_QUEUE);
      return { summary: await handle.result(), history: await handle.fetchHistory() };
    });
    const elapsed = Date.now() - started;
    delete process.env.WAYMARK_TEST_QUOTA_API_TOKEN;

    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0, pending: 0, redone: 0 });

    // Every item exactly one outcome, its API answer, on its first attempt.
    const rows = await allOutcomes(suite.ledger, 'http-quota');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    for (const row of rows) {
      const id = `user ${row.index}`;
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, result: { id, score: score(id), usage: { tokens: id.length } } });
    }

    // The API: each idempotency key succeeded exactly once, never replayed, always with the token.
    const ok = api.requests.filter((r) => r.status === 200);
    const refused = api.requests.filter((r) => r.status === 429);
    expect(ok).toHaveLength(ITEMS);
    expect(new Set(ok.map((r) => r.idempotencyKey))).toEqual(new Set(rows.map((r) => `http-quota:${r.index}`)));
    expect(api.requests.filter((r) => r.replayed || (r.status !== 200 && r.status !== 429))).toEqual([]);
    expect(api.requests.every((r) => r.authorization === 'Bearer token-for-test')).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(1);

    // The quota held: no period saw more than CAPACITY successes, so the batch had to wait
    // through at least ITEMS / CAPACITY - 1 refills.
    expect(elapsed).toBeGreaterThanOrEqual((ITEMS / CAPACITY - 1) * PERIOD_MS);

    // The waits were durable timers as long as Retry-After said (at most the 2 s period; the
    // workflow's other timers, its progress refreshes, run 25 s), and no slice activity failed.
    const timerMs = history
      .events!.filter((e) => e.timerStartedEventAttributes)
      .map(
        ({ timerStartedEventAttributes: t }) =>
          Number(t!.startToFireTimeout!.seconds ?? 0) * 1000 + (t!.startToFireTimeout!.nanos ?? 0) / 1e6,
      );
    const quotaTimers = timerMs.filter((ms) => ms < 10_000);
    expect(quotaTimers.length).toBeGreaterThanOrEqual(1);
    for (const ms of quotaTimers) expect(ms).toBeLessThanOrEqual(PERIOD_MS);
    const sliceFailures = history.events!.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes);
    expect(sliceFailures).toEqual([]);
    console.log(
      `http quota batch: ${ITEMS} items in ${elapsed} ms, ${api.requests.length} requests, ${refused.length} answered 429, ` +
        `${quotaTimers.length} quota timers (${quotaTimers.map((ms) => Math.round(ms)).join(', ')} ms), attempts ${[...new Set(rows.map((r) => r.attempts))].join(',')}`,
    );
  });
});
