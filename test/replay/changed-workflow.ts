/**
 * A deliberately incompatible batchWorkflow, for the replay test to prove it catches one:
 * it sleeps before planning, a command the recorded histories do not have.
 */
import { sleep } from '@temporalio/workflow';
import { batchWorkflow as current } from '../../src/workflows/batch-workflow';

export async function batchWorkflow(...args: Parameters<typeof current>): ReturnType<typeof current> {
  await sleep(1);
  return current(...args);
}
