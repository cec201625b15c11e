/**
 * A waymark worker: polls the waymark task queue, runs batchWorkflow and its activities,
 * with activities bound to this machine's ledger and data dir.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Ledger } from '../ledger/ledger';
import { TASK_QUEUE } from '../settings';

export interface WaymarkWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  ledger: Ledger;
  dataDir: string;
  taskQueue?: string;
  /** A prebuilt workflow bundle (tests build it once); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

export async function createWaymarkWorker(options: WaymarkWorkerOptions): Promise<Worker> {
  const { connection, namespace, ledger, dataDir, workflowBundle, identity } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: createActivities({ ledger, dataDir }),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    ...(identity ? { identity } : {}),
    // Cancel in-flight slices as soon as shutdown starts: they finish the current item, commit it
    // and hand the rest of the slice back, instead of running on until a force kill.
    shutdownGraceTime: 0,
    shutdownForceTime: '30 seconds',
  });
}
