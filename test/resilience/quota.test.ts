/**
 * I7: quota exhaustion is a wait, not a failure. A processor behind a real token bucket (500
 * calls per hour) runs 1,200 items with the real activities and a SQLite ledger under time
 * skipping: the batch stops cleanly at an item boundary when the bucket is empty, says so in
 * its progress, waits out the hour on a durable timer (twice), spends no attempts on it, and
 * completes with every item processed exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';
import { TokenBucket } from '../../tools/support/token-bucket';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { StoredOutcome } from '../../src/ledger/ledger';
import { defineProcessor, QuotaExhaustedError } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { createWaymarkWorker } from '../../src/workers/create-worker';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { progressQuery } from '../../src/contract/messages';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';
import { allOutcomes } from '../helpers/ledger-rows';

const TASK_QUEUE = 'quota';
const HOUR = 60 * 60 * 1000;
const ITEMS = 1200;
const CAPACITY = 500;
const SLICE = 100;

let env: TestWorkflowEnvironment;

/*
 * The bucket's clock is the test server's clock. The workflow's time skips (its quota timer of
 * an hour fires at once), but the activities, and the processor inside them, run in real time:
 * a bucket on Date.now() would never see the hour pass and would stay empty. So the bucket
 * reads `serverNow`, synchronously as a clock should be read, and the processor sets it from the
 * server (`env.currentTimeMs()`) right before each take. A background loop refreshing it every
 * few ms would lag a time skip: the first item after the wait could still read the old hour, find
 * the bucket empty and send the batch into a second, needless hour's wait. `Math.max` keeps the
 * clock from stepping back when concurrent calls answer out of order.
 */
let serverNow = 0;
let bucket: TokenBucket;
/** Indexes that got a token and ran: the side effect each item must have exactly once. */
const calls: number[] = [];
/** Items turned away by the empty bucket, and the refill each one was told to wait for. */
const refusals: { index: number; refillAt: number }[] = [];

registerProcessor(
  'rate-limited-api',
  defineProcessor(async (item, ctx) => {
    serverNow = Math.max(serverNow, await env.currentTimeMs());
    const taken = bucket.take();
    if (!taken.ok) {
      refusals.push({ index: ctx.index, refillAt: bucket.refillAt });
      throw new QuotaExhaustedError(taken.retryAfterMs);
    }
    calls.push(ctx.index);
    return { index: ctx.index, upper: String(item).toUpperCase() };
  }),
);

describe('a batch that runs out of quota', () => {
  let workflowBundle: WorkflowBundleWithSourceMap;
  let dir: string;
  let ledger: SqliteLedger;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    workflowBundle = await bundleWaymarkWorkflows();
    dir = makeTempDir('waymark-quota-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  async function committed(): Promise<StoredOutcome[]> {
    return allOutcomes(ledger, 'quota');
  }

  it('waits for the refill (twice) without spending attempts, stopping every slice at an item boundary', async () => {
    const file = path.join(dir, 'lines.txt');
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => `line ${i}`).join('\n') + '\n');
    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'rate-limited-api' },
      sliceSize: SLICE,
      checkpointEvery: ITEMS,
      concurrency: 3,
    });
    serverNow = await env.currentTimeMs();
    bucket = new TokenBucket(CAPACITY, HOUR, () => serverNow);
    const firstRefill = bucket.refillAt;

    const worker = await createWaymarkWorker({
      connection: env.nativeConnection,
      ledger,
      dataDir: dir,
      taskQueue: TASK_QUEUE,
      workflowBundle,
    });
    await worker.runUntil(async () => {
      const handle = await startBatch(env.client, spec, 'quota', TASK_QUEUE);

      // Time only skips while a result is awaited: until then the wait can be watched.
      await waitFor('the batch to wait for quota', async () => (await handle.query(progressQuery)).state === 'waiting-for-quota');
      await waitFor('every slice in flight to stop', async () => ((await handle.describe()).raw.pendingActivities ?? []).length === 0);
      const waiting = await handle.query(progressQuery);
      const now = await env.currentTimeMs();
      expect(waiting).toMatchObject({ state: 'waiting-for-quota', succeeded: CAPACITY, failed: 0, redone: 0 });
      // The wait ends at the refill, an hour after the batch began, not before.
      expect(waiting.quotaUntil).toBeGreaterThanOrEqual(firstRefill);
      expect(waiting.quotaUntil! - now).toBeGreaterThan(HOUR - 60_000);
      expect(waiting.quotaUntil! - now).toBeLessThanOrEqual(HOUR);

      // Exactly the 500 items that got a token are committed, each with its whole outcome...
      const rows = await committed();
      expect(rows).toHaveLength(CAPACITY);
      for (const r of rows) {
        expect(r).toMatchObject({ status: 'succeeded', attempts: 1, result: { index: r.index, upper: `LINE ${r.index}` } });
        expect(r.finishedAt).toBeGreaterThanOrEqual(r.startedAt);
      }
      // ...and every slice stopped at an item boundary: what it committed is a prefix of it, and
      // the items it was turned away on (its lanes had up to C in flight) are the next ones.
      const bySlice = new Map<number, number[]>();
      for (const r of rows) {
        const start = Math.floor(r.index / SLICE) * SLICE;
        bySlice.set(start, [...(bySlice.get(start) ?? []), r.index]);
      }
      for (const [start, indexes] of bySlice) expect(indexes).toEqual(indexes.map((_, k) => start + k));
      const firstRefusals = refusals.filter((r) => r.refillAt === firstRefill);
      expect(firstRefusals.length).toBeGreaterThanOrEqual(1);
      expect(firstRefusals.length).toBeLessThanOrEqual(3);
      const refusedBySlice = new Map<number, number[]>();
      for (const { index } of firstRefusals) {
        const start = Math.floor(index / SLICE) * SLICE;
        refusedBySlice.set(start, [...(refusedBySlice.get(start) ?? []), index]);
      }
      for (const [start, refused] of refusedBySlice) {
        const next = start + (bySlice.get(start)?.length ?? 0);
        expect(refused.sort((a, b) => a - b)).toEqual(refused.map((_, k) => next + k));
      }

      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0, pending: 0, redone: 0 });
      // Two waits of an hour: the batch spans two refills and ends in the third hour.
      expect(bucket.refills).toBe(2);
      expect(new Set(refusals.map((r) => r.refillAt))).toEqual(new Set([firstRefill, firstRefill + HOUR]));
      expect(Date.parse(summary.finishedAt)).toBeGreaterThanOrEqual(firstRefill + HOUR);
      expect(Date.parse(summary.finishedAt)).toBeLessThan(firstRefill + 2 * HOUR);
      expect(summary.durationMs).toBeGreaterThan(2 * HOUR - 60_000);

      // No attempt was spent on the waits: not by items, not by slice activities.
      const all = await committed();
      expect(all.map((r) => r.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
      expect(all.filter((r) => r.status !== 'succeeded' || r.attempts !== 1)).toEqual([]);
      const { events } = await handle.fetchHistory();
      const sliceAttempts = events!
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(sliceAttempts.every((a) => a === 1)).toBe(true);
      expect(events!.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes)).toEqual([]);
    });

    // Each item ran exactly once: the items turned away ran after the wait, and only then.
    expect(calls).toHaveLength(ITEMS);
    expect(new Set(calls).size).toBe(ITEMS);
  });
});
