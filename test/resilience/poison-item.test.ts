/**
 * I8: an item that takes its worker process down with it (process.exit, SIGABRT) does not hold
 * the batch hostage. Real worker processes on the dev server, restarted by a supervisor each
 * time they die: after itemCrashLimit deaths the item is dead-lettered as `crashed-worker`,
 * the batch completes, and every other item has exactly one successful outcome.
 *
 * The other side: a healthy item that happens to be in flight, in another slice of the same
 * worker process, each time a poison item crashes it must not be dead-lettered with it. Once
 * both are suspects they run one at a time (the suspect lease), so only the poison item keeps
 * being in flight when the worker dies.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { removeTempDirs } from '../helpers/temp-dir';
import { loadProcessorModule } from '../../src/processors/registry';
import { CRASHING_PROCESSOR_MODULE, runPoisonBatch } from './poison-batch';

const CRASH_LIMIT = 3;
const ITEMS = 200;
const POISON = 57;

describe('items that crash their worker process', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createDevServerEnv();
    loadProcessorModule(CRASHING_PROCESSOR_MODULE);
  });
  afterAll(async () => {
    await env?.teardown();
    removeTempDirs();
  });

  describe('an item that crashes its worker process', () => {
    it.each([
      ['process.exit(70)', 'exit', { code: 70, signal: null }],
      ['process.abort()', 'abort', { code: null, signal: 'SIGABRT' }],
    ] as const)(
      'is dead-lettered as crashed-worker after %s kills the worker 3 times, and the batch completes',
      async (_how, crash, death) => {
        const { summary, rows, executions, supervisor } = await runPoisonBatch(env, `poison-${crash}`, ITEMS, {
          processor: { name: 'crashing', options: { poisonIndex: POISON, crash, ms: 2 } },
          sliceSize: 20,
          checkpointEvery: 100,
          // One slice in flight, so every crash is the poison item's alone (the next describe
          // covers a healthy item in flight beside it).
          concurrency: 1,
          itemCrashLimit: CRASH_LIMIT,
          heartbeatTimeoutMs: 1000,
        });

        expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS - 1, failed: 1, pending: 0 });

        // The worker died exactly K times, each time by the poison item's own hand.
        expect(supervisor.deaths).toHaveLength(CRASH_LIMIT);
        for (const d of supervisor.deaths) expect(d).toMatchObject(death);
        expect(executions.get(POISON)).toEqual(supervisor.deaths.map((d) => String(d.pid)));

        expect(rows.map((r) => r.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
        expect(rows[POISON]).toMatchObject({
          status: 'failed',
          errorType: 'crashed-worker',
          attempts: CRASH_LIMIT,
          errorMessage: expect.stringContaining(`died ${CRASH_LIMIT} times`),
        });
        const others = rows.filter((r) => r.index !== POISON);
        expect(others.filter((r) => r.status !== 'succeeded' || r.attempts !== 1)).toEqual([]);
        for (const r of others) expect(r.result).toEqual({ index: r.index, echo: `item-${r.index}` });

        // Every other item ran exactly once: the crashes cost nothing but the poison item's own
        // redos, and waymark reports exactly those (its third interruption is the dead-lettering).
        expect(executions.size).toBe(ITEMS);
        expect([...executions].filter(([i, pids]) => i !== POISON && pids.length !== 1)).toEqual([]);
        expect(summary.redone).toBe(CRASH_LIMIT - 1);
      },
    );
  });

  describe('a healthy item beside a poison item', () => {
    it('is redone and succeeds, while only the poison item is dead-lettered', async () => {
      const items = 40;
      const poison = 15;
      const bystander = 0;
      const { summary, rows, executions, supervisor } = await runPoisonBatch(env, 'poison-bystander', items, {
        // Slices 0-9 and 10-19 run side by side. Item 0 takes 3 s; item 15 crashes its worker 1 s
        // after it starts. Both slices are retried together after each crash, so item 0 is
        // mid-run in the same process at every crash.
        processor: {
          name: 'crashing',
          options: { poisonIndex: poison, crashAfterMs: 1000, slowIndex: bystander, slowMs: 3000, ms: 2 },
        },
        sliceSize: 10,
        checkpointEvery: 40,
        concurrency: 2,
        itemCrashLimit: CRASH_LIMIT,
        heartbeatTimeoutMs: 1000,
      });

      expect(supervisor.deaths).toHaveLength(CRASH_LIMIT);
      expect(rows[poison]).toMatchObject({ status: 'failed', errorType: 'crashed-worker', attempts: CRASH_LIMIT });
      expect(rows[bystander]).toMatchObject({ status: 'succeeded', result: { index: bystander, echo: `item-${bystander}` } });
      expect(summary).toMatchObject({ status: 'completed', total: items, succeeded: items - 1, failed: 1 });
      // It was cut short by each crash and then finished once.
      expect(executions.get(bystander)!.length).toBeLessThanOrEqual(CRASH_LIMIT + 1);
    });
  });
});
