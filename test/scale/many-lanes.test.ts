/**
 * Hundreds of lanes on one worker (INVARIANTS.md I12, I14, I15), on the dev server: at C = 500
 * with 200 ms items a pause and a cancel stop every item within 2 s, through the ledger and not a
 * heartbeat; two batches at C = 500 share one worker and both progress; and at no moment are more
 * than C items of a batch in flight, read from the ledger's start and finish times.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { waitFor } from '../helpers/wait-for';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { pauseSignal, progressQuery, resumeSignal } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { allOutcomes, mostItemsAtOnce } from '../helpers/ledger-rows';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = `many-lanes-${process.pid}`;
const WITHIN_MS = 2000;

describe('hundreds of lanes on one worker', () => {
  const suite = devServerSuite('waymark-many-lanes-');

  function spec(name: string, items: number) {
    const file = path.join(suite.dir, name);
    fs.writeFileSync(file, Array.from({ length: items }, (_, i) => `item ${i}`).join('\n') + '\n');
    return validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'sleep', options: { ms: 200 } },
      concurrency: 500,
      checkpointEvery: items,
    });
  }

  const committed = async (id: string) => {
    const t = await suite.ledger.totals(id);
    return t.succeeded + t.failed;
  };
  const slicesRunning = async (handle: WorkflowHandle<typeof batchWorkflow>) =>
    (await handle.describe()).raw.pendingActivities?.filter((a) => a.activityType?.name === 'processSlice').length ?? 0;

  /** Milliseconds from `from` until no item of the batch runs: no slice activity pending, the ledger still. */
  async function untilItemsStop(handle: WorkflowHandle<typeof batchWorkflow>, from: number): Promise<number> {
    await waitFor('every slice to stop', async () => (await slicesRunning(handle)) === 0, 30_000);
    return Date.now() - from;
  }

  it('pauses and cancels 500 lanes of 200 ms items within 2 s, and never runs more than C items at once', async () => {
    const worker = await suite.worker(TASK_QUEUE);
    await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, spec('pause.txt', 20_000), 'c500', TASK_QUEUE);
      await waitFor('500 lanes held', async () => (await handle.query(progressQuery)).lanesHeld === 500, 30_000);
      await waitFor('a thousand commits', async () => (await committed('c500')) >= 1000, 30_000);

      const pausedAt = Date.now();
      await handle.signal(pauseSignal);
      const pauseMs = await untilItemsStop(handle, pausedAt);
      const atPause = await committed('c500');
      await new Promise((r) => setTimeout(r, 1000));
      // Nothing was committed after the slices stopped: no item ran on.
      expect(await committed('c500')).toBe(atPause);
      expect(await handle.query(progressQuery)).toMatchObject({ state: 'paused', slicesInFlight: 0 });

      await handle.signal(resumeSignal);
      await waitFor('commits after resume', async () => (await committed('c500')) >= atPause + 1000, 30_000);
      const cancelledAt = Date.now();
      await handle.cancel();
      const cancelMs = await untilItemsStop(handle, cancelledAt);
      await handle.result().catch(() => undefined);
      console.log(`C = 500, 200 ms items: pause to no item in flight ${pauseMs} ms, cancel ${cancelMs} ms`);
      expect(pauseMs).toBeLessThanOrEqual(WITHIN_MS);
      expect(cancelMs).toBeLessThanOrEqual(WITHIN_MS);
      expect((await handle.describe()).status.name).toBe('CANCELLED');

      // Items cut short by the pause and the cancel ran again or wait as pending: each has one outcome,
      // and the redone count is at most what was in flight at each stop (the bound, C = 500, each).
      const rows = await allOutcomes(suite.ledger, 'c500');
      expect(new Set(rows.map((r) => r.index)).size).toBe(rows.length);
      const manifest = JSON.parse(fs.readFileSync(path.join(suite.dir, 'manifests', 'c500.json'), 'utf8'));
      expect(manifest.redone).toBeLessThanOrEqual(500);
      expect(mostItemsAtOnce(rows)).toBeLessThanOrEqual(500);
    });
  });

  it('runs two batches of C = 500 on one worker, and both progress', async () => {
    const worker = await suite.worker(TASK_QUEUE);
    await worker.runUntil(async () => {
      const a = await startBatch(suite.env.client, spec('a.txt', 40_000), 'two-a', TASK_QUEUE);
      const b = await startBatch(suite.env.client, spec('b.txt', 40_000), 'two-b', TASK_QUEUE);
      await waitFor('both to commit', async () => (await committed('two-a')) > 0 && (await committed('two-b')) > 0, 30_000);
      const [a0, b0] = [await committed('two-a'), await committed('two-b')];
      await new Promise((r) => setTimeout(r, 6000));
      const [a1, b1] = [await committed('two-a'), await committed('two-b')];
      console.log(`two batches at C = 500 on one worker, 6 s: ${a1 - a0} and ${b1 - b0} items committed`);
      // Alone, each would commit 2,500 a second; sharing one worker's event loop, neither starves.
      expect(a1 - a0).toBeGreaterThan(1000);
      expect(b1 - b0).toBeGreaterThan(1000);
      expect(Math.min(a1 - a0, b1 - b0) / Math.max(a1 - a0, b1 - b0)).toBeGreaterThan(0.5);
      await a.cancel();
      await b.cancel();
      await Promise.all([a.result().catch(() => undefined), b.result().catch(() => undefined)]);
    });
  });
});
