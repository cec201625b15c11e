/**
 * A waymark worker: polls the waymark task queue, runs batchWorkflow and its activities,
 * with activities bound to this machine's ledger and data dir.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { createActivities } from '../activities';
import type { Ledger } from '../ledger/ledger';
import { TASK_QUEUE } from '../settings';
import { connectionHint, workerConnectionOptions, type TemporalConnectionSettings } from '../connection/connect';
import { CliError } from '../user-error';

export interface WaymarkWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  ledger: Ledger;
  dataDir: string;
  taskQueue?: string;
  /** A prebuilt workflow bundle (tests build it once); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** Payload codecs (encryption); must match the clients' (see waymarkDataConverter). */
  dataConverter?: DataConverter;
}

export async function createWaymarkWorker(options: WaymarkWorkerOptions): Promise<Worker> {
  const { connection, namespace, ledger, dataDir, workflowBundle, identity, dataConverter } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: createActivities({ ledger, dataDir }),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    ...(identity ? { identity } : {}),
    ...(dataConverter ? { dataConverter } : {}),
    // Cancel in-flight slices as soon as shutdown starts: they finish the current item, commit it
    // and hand the rest of the slice back, instead of running on until a force kill.
    shutdownGraceTime: 0,
    shutdownForceTime: '30 seconds',
    // A killed worker leaves its cached workflows' next tasks on its own sticky queue; the
    // default 10 s before they move to another worker was most of a SIGKILL's cost in the chaos run.
    stickyQueueScheduleToStartTimeout: '3 seconds',
    // Heartbeats are left to the SDK's throttle (0.8 x heartbeatTimeout, 24 s at the default):
    // each one recorded is a Temporal Cloud action, and a slice needs them only for liveness and
    // for progress where the ledger cannot be read. Pause, stop and lanes reach running slices
    // through the ledger within half a second (INVARIANTS.md I15).
  });
}

/** The worker's connection to the server the settings name (TLS and API key included). */
export async function connectWorkerConnection(settings: TemporalConnectionSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(workerConnectionOptions(settings));
  } catch (err) {
    throw new CliError(connectionHint(settings.address, err, settings));
  }
}
