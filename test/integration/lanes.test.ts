/**
 * Lanes in slices, on the dev server (INVARIANTS.md I14, I15): a short batch runs on C lanes in one
 * slice activity at the default slice size, configure raising C mid-window gives the new lanes
 * work, the lanes of slices that ended are lent to a slow slice left running alone, and when
 * fewer than C lanes can run, `waymark start` and the Web UI details say how many and why. Items
 * in flight are read from the ledger's start and finish times.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { waitFor } from '../helpers/wait-for';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { configureUpdate, progressQuery } from '../../src/contract/messages';
import { currentDetails } from '../../src/workflows/details';
import { allOutcomes, mostItemsAtOnce } from '../helpers/ledger-rows';
import { runCli } from '../cli/run-cli';
import { devServerSuite } from '../helpers/dev-server-suite';
import { defineProcessor } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';

const TASK_QUEUE = `lanes-${process.pid}`;
/** Registered in this process, where the test's worker runs. */
const SLOW_TAIL = 'lanes-test-slow-tail';
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The most processSlice activities scheduled and not yet closed at any point of a history. */
function mostSlicesAtOnce(events: HistoryEvent[]): { most: number; slices: number } {
  const slices = new Set<string>();
  let open = 0;
  let most = 0;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'processSlice') {
      slices.add(String(e.eventId));
      open++;
      most = Math.max(most, open);
    }
    const closedId =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskCanceledEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    if (closedId != null && slices.has(String(closedId))) open--;
  }
  return { most, slices: slices.size };
}

describe('slices sized for the lanes', () => {
  const suite = devServerSuite('waymark-lanes-');

  function itemsFile(name: string, count: number): string {
    const file = path.join(suite.dir, name);
    fs.writeFileSync(file, Array.from({ length: count }, (_, i) => `item ${i}`).join('\n') + '\n');
    return file;
  }

  const worker = () => suite.worker(TASK_QUEUE);

  it('runs 200 items at C = 8 and the default slice size on 8 lanes at once in one slice activity, each item once', async () => {
    const spec = validateSpecForStart({
      source: { kind: 'text', path: itemsFile('short.txt', 200) },
      processor: { name: 'sleep', options: { ms: 20 } },
      concurrency: 8,
    });
    expect(spec.sliceSize).toBe(1000);
    const handle = await (
      await worker()
    ).runUntil(async () => {
      const h = await startBatch(suite.env.client, spec, 'lanes-200', TASK_QUEUE);
      await h.result();
      return h;
    });
    expect(await handle.result()).toMatchObject({ total: 200, succeeded: 200, failed: 0, redone: 0 });
    const { events } = await handle.fetchHistory();
    expect(mostSlicesAtOnce(events ?? [])).toEqual({ most: 1, slices: 1 });
    const rows = await allOutcomes(suite.ledger, 'lanes-200');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(mostItemsAtOnce(rows)).toBe(8);
  });

  it('configure raising C mid-window cuts the unlaunched slices again, so every new lane has work', async () => {
    const spec = validateSpecForStart({
      source: { kind: 'text', path: itemsFile('raise.txt', 200) },
      processor: { name: 'sleep', options: { ms: 25 } },
      concurrency: 1,
      sliceSize: 50,
    });
    const handle = await (
      await worker()
    ).runUntil(async () => {
      const h = await startBatch(suite.env.client, spec, 'lanes-raise', TASK_QUEUE);
      await waitFor('the first slice in flight', async () => (await h.query(progressQuery)).slicesInFlight === 1);
      // One lane, and 3 slices of 50 queued behind it.
      await h.executeUpdate(configureUpdate, { args: [{ concurrency: 8 }] });
      await waitFor('8 lanes held', async () => (await h.query(progressQuery)).lanesHeld === 8, 20_000);
      await h.result();
      return h;
    });
    expect(await handle.result()).toMatchObject({ total: 200, succeeded: 200, failed: 0, redone: 0 });
    const { events } = await handle.fetchHistory();
    // A few slice activities whatever C: the first slice of 50, then the rest cut again for 8 lanes.
    expect(mostSlicesAtOnce(events ?? []).most).toBeLessThanOrEqual(2);
    const rows = await allOutcomes(suite.ledger, 'lanes-raise');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(mostItemsAtOnce(rows)).toBe(8);
  });

  it('lends the lanes of slices that ended to a slow slice left running alone: its items then run on C lanes, each once, never more than C at once', async () => {
    // C = 16: slices of 50 on two slices of 8 lanes; the last slice's items take 100 ms, the others'
    // 10 ms: on its own 8 lanes it would run 0.6 s after the others had finished.
    registerProcessor(
      SLOW_TAIL,
      defineProcessor(async (_item, ctx) => {
        await new Promise((resolve) => setTimeout(resolve, ctx.index >= 150 ? 100 : 10));
        return null;
      }),
    );
    const spec = validateSpecForStart({
      source: { kind: 'text', path: itemsFile('tail.txt', 200) },
      processor: { name: SLOW_TAIL },
      concurrency: 16,
      sliceSize: 50,
    });
    const handle = await (
      await worker()
    ).runUntil(async () => {
      const h = await startBatch(suite.env.client, spec, 'lanes-tail', TASK_QUEUE);
      await h.result();
      return h;
    });
    expect(await handle.result()).toMatchObject({ total: 200, succeeded: 200, failed: 0, redone: 0, runs: 1 });
    const rows = await allOutcomes(suite.ledger, 'lanes-tail');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    const { events } = await handle.fetchHistory();
    const { most, slices } = mostSlicesAtOnce(events ?? []);
    // No slice was split: four slice activities, two at a time, and lanes moved instead of items.
    expect(slices).toBe(4);
    expect(most).toBe(2);
    expect(events?.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toBe(true);
    expect(mostItemsAtOnce(rows)).toBeLessThanOrEqual(16);
    // The slow slice's items ran on more than its own 8 lanes once the others were done.
    expect(mostItemsAtOnce(rows.filter((r) => r.index >= 150))).toBeGreaterThan(8);
  });

  it('says how many lanes run and why when fewer than C can: waymark start and the Web UI details', async () => {
    const w = await worker();
    await w.runUntil(async () => {
      const run = await runCli(
        [
          'start',
          itemsFile('three.txt', 3),
          '--processor',
          'sleep',
          '--option',
          'ms=3000',
          '--concurrency',
          '8',
          '--batch-id',
          'lanes-three',
        ],
        {
          cwd: suite.dir,
          env: { TEMPORAL_ADDRESS: suite.env.address, WAYMARK_TASK_QUEUE: TASK_QUEUE, WAYMARK_DATA_DIR: suite.dir },
        },
      );
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('lanes in use: 3 of C=8: the batch has 3 items, and a lane needs at least one\n');
      const handle = suite.env.client.workflow.getHandle('lanes-three');
      const progress = await handle.query(progressQuery);
      expect(progress).toMatchObject({ lanesInUse: 3, concurrency: 8 });
      expect(currentDetails(progress, {}, { speed: '-', eta: '-' })).toContain(
        '- lanes in use: 3 of C=8: the batch has 3 items, and a lane needs at least one',
      );
      await handle.result();
    });
  });
});
