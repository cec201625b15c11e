/**
 * In-process workers for the bench. At the defaults it is createWaymarkWorker itself; a tuning
 * run that changes worker options builds the same worker (same activities and shutdown
 * settings as src/workers/create-worker.ts) with those options on top, because
 * createWaymarkWorker takes no worker options.
 */
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import type { Ledger } from '../src/ledger/ledger';
import { createWaymarkWorker } from '../src/workers/create-worker';
import type { BenchEnv } from './bench-env';

export type WorkerTuning = Pick<
  WorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxCachedWorkflows' | 'reuseV8Context' | 'maxConcurrentWorkflowTaskExecutions'
>;

export async function createBenchWorker(env: BenchEnv, ledger: Ledger, taskQueue: string, tuning?: WorkerTuning): Promise<Worker> {
  const dataDir = env.dir;
  if (!tuning || Object.keys(tuning).length === 0) {
    return createWaymarkWorker({ connection: env.connection, ledger, dataDir, taskQueue, workflowBundle: env.waymarkBundle });
  }
  return Worker.create({
    connection: env.connection,
    taskQueue,
    activities: createActivities({ ledger, dataDir }),
    workflowBundle: env.waymarkBundle,
    shutdownGraceTime: 0,
    shutdownForceTime: '30 seconds',
    ...tuning,
  });
}
