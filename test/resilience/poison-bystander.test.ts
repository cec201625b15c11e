/**
 * I8, the other side: a healthy item that happens to be in flight, in another slice of the
 * same worker process, each time a poison item crashes it must not be dead-lettered with it.
 * Once both are suspects they run one at a time (the suspect lease), so only the poison item
 * keeps being in flight when the worker dies.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { removeTempDirs } from '../helpers/temp-dir';
import { loadProcessorModule } from '../../src/processors/registry';
import { CRASHING_PROCESSOR_MODULE, runPoisonBatch } from './poison-batch';

const CRASH_LIMIT = 3;

describe('a healthy item beside a poison item', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createDevServerEnv();
    loadProcessorModule(CRASHING_PROCESSOR_MODULE);
  });
  afterAll(async () => {
    await env?.teardown();
    removeTempDirs();
  });

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
    // Today: { status: 'failed', errorType: 'crashed-worker', attempts: 3 }.
    expect(rows[bystander]).toMatchObject({ status: 'succeeded', result: { index: bystander, echo: `item-${bystander}` } });
    expect(summary).toMatchObject({ status: 'completed', total: items, succeeded: items - 1, failed: 1 });
    // It was cut short by each crash and then finished once.
    expect(executions.get(bystander)!.length).toBeLessThanOrEqual(CRASH_LIMIT + 1);
  });
});
