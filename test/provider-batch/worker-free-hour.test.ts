/**
 * A provider job that runs for an hour leaves the worker free meanwhile: once its jobs are at the
 * provider, the batch waits on durable timers between short polls, holds no activity open and
 * heartbeats nothing. On the time-skipping test server, with the fake's clock on the server's
 * time, an hour passes in seconds and the history shows how it was spent.
 */
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { startOpenAiBatchFake } from '../../tools/support/openai-batch-fake';
import { devServerSuite } from '../helpers/dev-server-suite';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { FAKE_KEY, KEY_ENV, jobsPerItem, providerSpec, writeItems } from '../helpers/provider-batch';

const HOUR = 60 * 60 * 1000;
const POLL = 10 * 60 * 1000;
const closers: (() => Promise<void>)[] = [];

describe('an hour at the provider', () => {
  const suite = devServerSuite('waymark-provider-hour-', {
    createEnv: () => createTimeSkippingEnv(),
    beforeTeardown: () => Promise.all(closers.map((close) => close())),
  });

  it('holds no activity open while the jobs run: timers between short polls, then the results are collected', async () => {
    process.env[KEY_ENV.openai] = FAKE_KEY;
    const fake = await startOpenAiBatchFake({ processingMs: HOUR, apiKey: FAKE_KEY, clock: () => suite.env.currentTimeMs() });
    closers.push(() => fake.close());
    const file = writeItems(suite.dir, 'hour.jsonl', 200);
    const spec = validateSpecForStart(
      providerSpec('openai', fake.baseUrl, file, { sliceSize: 100, concurrency: 2 }, { pollIntervalMs: POLL }),
    );
    const startedAt = await suite.env.currentTimeMs();
    const handle = await startBatch(suite.env.client, spec, 'hour', 'hour');
    const summary = await (await suite.worker('hour')).runUntil(handle.result());
    expect(summary).toMatchObject({ status: 'completed', succeeded: 200, failed: 0, pending: 0 });
    expect(await suite.env.currentTimeMs()).toBeGreaterThanOrEqual(startedAt + HOUR);
    expect(jobsPerItem(fake.core, 'hour', 200)).toEqual(Array(200).fill(1));

    // Between the creates and the result files, the provider heard only polls, about one per
    // interval and job: nothing of ours called it in between.
    const routes = fake.core.calls.map((c) => c.route.replace(/\/batch_\w+$/, '/{id}'));
    const between = routes.slice(
      routes.lastIndexOf('POST /v1/batches') + 1,
      routes.findIndex((r) => r.includes('/content')),
    );
    expect(new Set(between)).toEqual(new Set(['GET /v1/batches/{id}']));
    expect(between.length).toBeLessThanOrEqual(2 * (HOUR / POLL + 2));

    // The hour went on timers: each slice activity took seconds, none timed out or heartbeat its way through.
    const { events } = await handle.fetchHistory();
    const started = new Map<number, number>();
    let longest = 0;
    let timedOut = 0;
    let timers = 0;
    for (const event of events ?? []) {
      const at = Number(event.eventTime?.seconds ?? 0) * 1000;
      if (event.activityTaskStartedEventAttributes) started.set(Number(event.activityTaskStartedEventAttributes.scheduledEventId), at);
      const done = event.activityTaskCompletedEventAttributes;
      if (done) longest = Math.max(longest, at - (started.get(Number(done.scheduledEventId)) ?? at));
      if (event.activityTaskTimedOutEventAttributes) timedOut++;
      if (event.timerStartedEventAttributes) timers++;
    }
    expect(longest).toBeLessThan(60_000);
    expect(timedOut).toBe(0);
    expect(timers).toBeGreaterThanOrEqual(2 * (HOUR / POLL - 1));
  }, 180_000);
});
