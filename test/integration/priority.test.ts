/**
 * Many batches, one fleet (INVARIANTS.md I15): a worker whose slice slots a large backfill at
 * priority 5 keeps full, and an urgent batch at priority 1 started beside it. Priority reorders the
 * tasks waiting in the task queue, never a running slice: the urgent batch's tasks go first as
 * slots free, so it finishes within 1.5x of its time alone, and the backfill goes on. While the
 * backfill's slices wait for slots, progress says so, with the number.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { waitFor } from '../helpers/wait-for';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { ProgressReader } from '../../src/cli/batch-progress';
import { describeState } from '../../src/workflows/details';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = `priority-${process.pid}`;
/** Slice activities the worker runs at once: the backfill alone would fill them many times over. */
const SLOTS = 2;

describe('priority between batches on one worker', () => {
  const suite = devServerSuite('waymark-priority-');

  function itemsFile(name: string, count: number): string {
    const file = path.join(suite.dir, name);
    fs.writeFileSync(file, Array.from({ length: count }, (_, i) => `item ${i}`).join('\n') + '\n');
    return file;
  }

  const urgentSpec = () =>
    validateSpecForStart({
      source: { kind: 'text', path: itemsFile('urgent.txt', 200) },
      processor: { name: 'sleep', options: { ms: 200 } },
      concurrency: 8,
      priority: 1,
      fairnessKey: 'urgent-team',
    });

  async function timeToEnd(handle: WorkflowHandle<typeof batchWorkflow>, startedAt: number): Promise<number> {
    await handle.result();
    return Date.now() - startedAt;
  }

  it('an urgent batch at priority 1 finishes within 1.5x of its time alone beside a backfill at priority 5 that fills the slots, and the backfill goes on', async () => {
    const worker = await suite.worker(TASK_QUEUE, { sliceSlots: SLOTS });
    await worker.runUntil(async () => {
      const aloneStarted = Date.now();
      const alone = await timeToEnd(await startBatch(suite.env.client, urgentSpec(), 'urgent-alone', TASK_QUEUE), aloneStarted);

      // C = 64 in slices of 16 items (0.2 s each on 8 lanes): eight slices want to run, two slots take them, and free often.
      const backfill = await startBatch(
        suite.env.client,
        validateSpecForStart({
          source: { kind: 'text', path: itemsFile('backfill.txt', 20_000) },
          processor: { name: 'sleep', options: { ms: 100 } },
          concurrency: 64,
          sliceSize: 16,
          checkpointEvery: 20_000,
          priority: 5,
        }),
        'backfill',
        TASK_QUEUE,
      );
      const reader = new ProgressReader(backfill, suite.ledger);
      await waitFor('backfill slices waiting for a slot', async () => ((await reader.read()).slicesWaitingForSlots ?? 0) >= 2, 30_000);
      const shown = describeState(await reader.read());
      expect(shown).toMatch(/^running; \d+ slices wait for a worker slot \(each worker runs WAYMARK_WORKER_SLICES slices at once/);

      const urgentStarted = Date.now();
      const urgent = await startBatch(suite.env.client, urgentSpec(), 'urgent', TASK_QUEUE);
      const beside = await timeToEnd(urgent, urgentStarted);
      console.log(`urgent batch: ${alone} ms alone, ${beside} ms beside the backfill (${(beside / alone).toFixed(2)}x)`);
      expect(beside).toBeLessThanOrEqual(alone * 1.5);

      // The backfill was not starved meanwhile, and goes on after.
      const atUrgentEnd = (await suite.ledger.totals('backfill')).succeeded;
      await waitFor('the backfill to go on', async () => (await suite.ledger.totals('backfill')).succeeded > atUrgentEnd + 100, 30_000);
      await backfill.cancel();
      await backfill.result().catch(() => undefined);

      // The priority and fairness key ride on the urgent batch's slices; the backfill's on its own.
      const priorities = async (handle: WorkflowHandle<typeof batchWorkflow>) =>
        ((await handle.fetchHistory()).events ?? [])
          .map((e) => e.activityTaskScheduledEventAttributes)
          .filter((a) => a?.activityType?.name === 'processSlice')
          .map((a) => ({ key: a!.priority?.priorityKey, fairnessKey: a!.priority?.fairnessKey || undefined }));
      expect(new Set((await priorities(urgent)).map((p) => JSON.stringify(p)))).toEqual(
        new Set([JSON.stringify({ key: 1, fairnessKey: 'urgent-team' })]),
      );
      expect(new Set((await priorities(backfill)).map((p) => p.key))).toEqual(new Set([5]));
    });
  });
});
