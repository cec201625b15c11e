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
    // A pause or cancel reaches a slice only in a heartbeat's response, and status reads progress
    // from heartbeat details: send a slice's heartbeat at most a second after it is made (the
    // SDK otherwise waits up to 0.8 x heartbeatTimeout, 24 s at the default). One heartbeat RPC
    // per second per slice in flight: 64 per second at C = 64 (see README, "Progress and control").
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
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
