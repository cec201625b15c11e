/**
 * The worker's Prometheus endpoint and JSON logs, on a real worker process (the built CLI: the
 * Runtime, which owns the exporter, can be installed once per process, and jest's has one).
 * A batch with successes, rejected items, a parse failure and a quota wait runs on the dev
 * server; waymark's counters (and the usage its items report) on the endpoint then equal the batch's counts, next to the SDK's
 * temporal_* metrics, and every log line the worker wrote is a JSON object.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { findFreePort } from '../../tools/support/free-port';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { loadProcessorModule } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { sample } from '../helpers/prometheus';

const PROCESSOR_MODULE = path.resolve(__dirname, 'fixtures/metered-processor.js');
const TASK_QUEUE = 'metrics-endpoint';
const REJECTED = new Set([7, 19, 33, 41, 52]);
const QUOTA = 25;
const EMPTY = 48;

describe('worker metrics and logs', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    env = await createDevServerEnv();
    loadProcessorModule(PROCESSOR_MODULE);
    dir = makeTempDir('waymark-metrics-');
  });
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await env?.teardown();
    removeTempDirs();
  });

  it('serves waymark counters equal to the batch counts, latency histograms and temporal_ metrics, and logs JSON lines', async () => {
    const port = await findFreePort();
    const endpoint = `http://127.0.0.1:${port}/metrics`;
    worker = await startWorkerProcess({
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: TASK_QUEUE,
      WAYMARK_PROCESSORS: PROCESSOR_MODULE,
      WAYMARK_METRICS_PORT: `127.0.0.1:${port}`,
      WAYMARK_LOG_FORMAT: 'json',
    });
    expect(worker.output()).toContain(`metrics at ${endpoint}`);

    const file = path.join(dir, 'items.txt');
    const lines = Array.from({ length: 60 }, (_, i) =>
      REJECTED.has(i) ? `reject-${i}` : i === QUOTA ? `quota-${i}` : i === EMPTY ? '' : `item-${i}`,
    );
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'metered' },
      sliceSize: 10,
      concurrency: 2,
    });
    const handle = await startBatch(env.client, spec, 'metrics-batch', TASK_QUEUE);

    // The endpoint answers while the batch runs.
    await waitFor('the metrics endpoint to count a committed item', async () => {
      const res = await fetch(endpoint).catch(() => undefined);
      return res?.ok === true && sample(await res.text(), 'waymark_items_succeeded') > 0;
    });
    const summary = await handle.result();
    expect(summary).toMatchObject({ total: 60, succeeded: 54, failed: 6 });
    const tokens = lines.filter((line, i) => line !== '' && !REJECTED.has(i)).reduce((sum, line) => sum + line.length, 0);
    expect(summary.usage).toEqual({ costUsd: expect.closeTo(0.054, 9), tokens });

    const text = await (await fetch(endpoint)).text();
    expect(sample(text, 'waymark_items_succeeded', { processor: 'metered' })).toBe(summary.succeeded);
    expect(sample(text, 'waymark_items_failed')).toBe(summary.failed);
    expect(sample(text, 'waymark_items_failed', { type: 'rejected' })).toBe(5);
    expect(sample(text, 'waymark_items_failed', { type: 'parse' })).toBe(1);
    expect(sample(text, 'waymark_quota_waits')).toBe(1);
    // Usage per unit: the histogram's _sum is the total, its _count the items that reported it.
    expect(sample(text, 'waymark_item_usage_sum', { unit: 'tokens' })).toBe(tokens);
    expect(sample(text, 'waymark_item_usage_sum', { unit: 'costUsd' })).toBeCloseTo(0.054, 9);
    expect(sample(text, 'waymark_item_usage_count', { unit: 'tokens' })).toBe(summary.succeeded);
    expect(sample(text, 'waymark_item_latency_count')).toBe(60);
    expect(sample(text, 'waymark_item_latency_count', { status: 'failed' })).toBe(summary.failed);
    expect(sample(text, 'waymark_item_latency_bucket', { le: '+Inf' })).toBe(60);
    // Every slice returned once as done, and the one with the quota item once more before it.
    expect(sample(text, 'waymark_slice_latency_count', { outcome: 'done' })).toBe(6);
    expect(sample(text, 'waymark_slice_latency_count', { outcome: 'quota' })).toBe(1);
    // The SDK's own metrics come out of the same endpoint, waymark's carry the activity's tags.
    expect(text).toMatch(/^temporal_activity_execution_latency_count\{/m);
    expect(text).toMatch(/^waymark_items_succeeded\{[^}]*taskQueue="metrics-endpoint"/m);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const logLines = worker.output().split('\n').filter(Boolean);
    const records = logLines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    for (const r of records)
      expect(r).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), message: expect.any(String) }));
    const ready = records.find((r) => String(r.message).startsWith('waymark worker:'));
    expect(ready).toMatchObject({ level: 'INFO', taskQueue: TASK_QUEUE, metrics: endpoint, encryption: 'off' });
    const itemLog = records.find((r) => r.message === 'metered item');
    expect(itemLog).toMatchObject({
      level: 'INFO',
      index: expect.any(Number),
      workflowId: 'metrics-batch',
      activityType: 'processSlice',
      taskQueue: TASK_QUEUE,
    });
  });
});
