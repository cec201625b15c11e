/**
 * An item that hangs (a call that never answers, a processor that ignores its abort signal)
 * costs its own attempts and nothing else: each attempt ends at itemTimeoutMs, the item becomes
 * a `timeout` failure row, and the slice's heartbeats keep the activity alive throughout, so
 * Temporal never times the slice out and no other item is redone. Dev server, in-process worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defineProcessor } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { allOutcomes } from '../helpers/ledger-rows';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'hanging-item';
const ITEMS = 40;
const HANGING = 13;
const ITEM_TIMEOUT_MS = 1500;
const ATTEMPTS = 2;
const HEARTBEAT_TIMEOUT_MS = 1000;

/** Every execution, in order: the side-effect log. */
const executions: number[] = [];

registerProcessor(
  'hangs-on-one',
  defineProcessor(async (item, ctx) => {
    executions.push(ctx.index);
    // Never settles and never looks at ctx.signal: only waymark's own timeout can end it.
    if (ctx.index === HANGING) return new Promise<never>(() => {});
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { index: ctx.index, echo: item };
  }),
);

describe('an item that hangs', () => {
  const suite = devServerSuite('waymark-hang-');

  it('fails with type timeout after its attempts, while heartbeats keep its slice alive and nothing else is redone', async () => {
    const file = path.join(suite.dir, 'items.txt');
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => `item-${i}`).join('\n'));
    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'hangs-on-one' },
      sliceSize: 10,
      checkpointEvery: ITEMS,
      concurrency: 2,
      itemTimeoutMs: ITEM_TIMEOUT_MS,
      itemAttempts: ATTEMPTS,
      itemBackoffMs: 100,
      // Shorter than the hang: a slice that stopped heartbeating during it would be timed out
      // and retried, running the hanging item again and showing a second attempt in the history.
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    const worker = await suite.worker(TASK_QUEUE);
    const handle = await worker.runUntil(async () => {
      const h = await startBatch(suite.env.client, spec, 'hanging-item', TASK_QUEUE);
      await h.result();
      return h;
    });
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS - 1, failed: 1, redone: 0 });

    const rows = await allOutcomes(suite.ledger, 'hanging-item');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    const hung = rows[HANGING];
    expect(hung).toMatchObject({
      status: 'failed',
      errorType: 'timeout',
      attempts: ATTEMPTS,
      errorMessage: expect.stringContaining(`within ${ITEM_TIMEOUT_MS} ms`),
    });
    // The item held its slice for both attempts: far longer than the heartbeat timeout.
    expect(hung.finishedAt - hung.startedAt).toBeGreaterThanOrEqual(ATTEMPTS * ITEM_TIMEOUT_MS);
    expect(ATTEMPTS * ITEM_TIMEOUT_MS).toBeGreaterThan(2 * HEARTBEAT_TIMEOUT_MS);
    const others = rows.filter((r) => r.index !== HANGING);
    expect(others.filter((r) => r.status !== 'succeeded' || r.attempts !== 1)).toEqual([]);

    // Side effects: the hanging item ran once per attempt, every other item exactly once.
    const counts = new Map<number, number>();
    for (const i of executions) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect(counts.get(HANGING)).toBe(ATTEMPTS);
    expect([...counts].filter(([i, n]) => i !== HANGING && n !== 1)).toEqual([]);
    expect(counts.size).toBe(ITEMS);

    // And Temporal's own record: every slice activity completed on its first attempt, none timed out.
    const { events } = await handle.fetchHistory();
    const started = events!.filter((e) => e.activityTaskStartedEventAttributes);
    const scheduled = events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'processSlice');
    expect(scheduled).toHaveLength(ITEMS / 10);
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual(started.map(() => 1));
    expect(events!.filter((e) => e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes)).toEqual([]);
  });
});
