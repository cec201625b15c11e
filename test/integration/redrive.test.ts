/**
 * Redrive on the dev server: a linked batch re-runs only the compensating record's items (and the
 * pending ones of a batch stopped by its failure tolerance), and its outcomes are merged into the
 * original, so exporting the original shows the final state.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { type Worker } from '@temporalio/worker';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { exportBatch } from '../../src/cli/export-batch';
import { planRedrive } from '../../src/redrive/plan-redrive';
import { registerProcessor } from '../../src/processors/registry';
import { defineProcessor, NonRetryableItemError } from '../../src/processors/processor';
import type { BatchManifest } from '../../src/contract/activity-io';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'redrive';
/** Items the downstream system rejects until it is fixed; the test fixes it between runs. */
const broken = new Set<number>();
const calls: { batchId: string; index: number; key: string }[] = [];

registerProcessor(
  'fragile',
  defineProcessor(async (item, ctx) => {
    calls.push({ batchId: ctx.batchId, index: ctx.index, key: ctx.idempotencyKey });
    if (broken.has(ctx.index)) throw new NonRetryableItemError(`downstream rejected item ${ctx.index}`, 'rejected');
    return { ok: (item as { id: number }).id };
  }),
);

describe('waymark redrive', () => {
  let worker: Worker;
  let running: Promise<void>;
  let file: string;
  const suite = devServerSuite('waymark-redrive-', {
    beforeTeardown: async () => {
      worker?.shutdown();
      await running;
    },
  });

  beforeAll(async () => {
    file = path.join(suite.dir, 'items.jsonl');
    fs.writeFileSync(file, Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i })).join('\n'));
    worker = await suite.worker(TASK_QUEUE);
    running = worker.run();
  });
  beforeEach(() => {
    broken.clear();
    calls.length = 0;
  });

  const spec = (extra: object = {}) =>
    validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'fragile' },
      sliceSize: 10,
      checkpointEvery: 100,
      ...extra,
    });

  async function redrive(batchId: string, redriveId: string) {
    const plan = await planRedrive(suite.ledger, batchId);
    return (await startBatch(suite.env.client, plan.spec, redriveId, TASK_QUEUE)).result();
  }

  it('re-runs only the failed items and merges their new outcomes into the original', async () => {
    for (const i of [3, 42, 150, 151, 299]) broken.add(i);
    const first = await (await startBatch(suite.env.client, spec(), 'orders', TASK_QUEUE)).result();
    expect(first).toMatchObject({ total: 300, succeeded: 295, failed: 5, pending: 0 });

    broken.clear();
    calls.length = 0;
    const second = await redrive('orders', 'orders-redrive-1');
    expect(second).toMatchObject({ batchId: 'orders-redrive-1', redriveOf: 'orders', total: 5, succeeded: 5, failed: 0, pending: 0 });
    // Only the compensating record's items ran, under the original batch's idempotency keys.
    expect(calls.map((c) => c.index).sort((a, b) => a - b)).toEqual([3, 42, 150, 151, 299]);
    expect(calls.every((c) => c.key === `orders:${c.index}`)).toBe(true);

    const out = path.join(suite.dir, 'orders-export');
    const exported = await exportBatch(suite.ledger, 'orders', out);
    expect(exported).toMatchObject({ results: 300, failures: 0 });
    expect(exported.manifest).toMatchObject({ status: 'completed', succeeded: 300, failed: 0, redrives: ['orders-redrive-1'] });
    expect(fs.readFileSync(path.join(out, 'failures.jsonl'), 'utf8')).toBe('');

    await expect(planRedrive(suite.ledger, 'orders')).rejects.toThrow(
      'batch "orders" has no failed or pending items; there is nothing to redrive',
    );
  });

  it('finishes a batch stopped by its failure tolerance: failed and pending items, and nothing else', async () => {
    for (const i of [5, 6, 7, 8]) broken.add(i);
    const err = await (
      await startBatch(suite.env.client, spec({ concurrency: 1, toleratedFailureCount: 3 }), 'strict', TASK_QUEUE)
    )
      .result()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const stopped = (await suite.ledger.batch('strict'))!.manifest as BatchManifest;
    expect(stopped).toMatchObject({
      status: 'failed-tolerance',
      total: 300,
      succeeded: 6,
      failed: 4,
      pending: 290,
      pendingRanges: [[10, 299]],
      stopReason: '4 failed items exceed toleratedFailureCount (3)',
    });

    broken.clear();
    calls.length = 0;
    const summary = await redrive('strict', 'strict-redrive');
    expect(summary).toMatchObject({ total: 294, succeeded: 294, failed: 0 });
    expect(calls).toHaveLength(294);
    expect(calls.some((c) => c.index < 5 || c.index === 9)).toBe(false);

    const merged = (await suite.ledger.batch('strict'))!.manifest as BatchManifest;
    expect(merged).toMatchObject({
      status: 'completed',
      succeeded: 300,
      failed: 0,
      pending: 0,
      pendingRanges: [],
      redrives: ['strict-redrive'],
    });
    expect(merged.stopReason).toBeUndefined();
  });
});
