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
  /** Slice activities this worker runs at once; WAYMARK_WORKER_SLICES, else DEFAULT_SLICE_SLOTS. */
  sliceSlots?: number;
}

/**
 * Slice activities a worker runs at once by default (the SDK's default). A slice runs many items
 * at once, and a batch runs at most 32 slices (src/contract/lanes.ts), so three batches of any C
 * fit; `waymark status` says when slices wait for a slot.
 */
export const DEFAULT_SLICE_SLOTS = 100;

/** WAYMARK_WORKER_SLICES, checked: a whole number of slice activities the worker runs at once. */
export function sliceSlotsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WAYMARK_WORKER_SLICES;
  if (raw === undefined || raw === '') return DEFAULT_SLICE_SLOTS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new CliError(
      `WAYMARK_WORKER_SLICES must be a whole number of at least 1 (slice activities the worker runs at once), got "${raw}"; fix it or unset it for ${DEFAULT_SLICE_SLOTS}`,
    );
  }
  return n;
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
    maxConcurrentActivityTaskExecutions: options.sliceSlots ?? sliceSlotsFromEnv(),
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
