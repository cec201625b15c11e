/**
 * A real `waymark worker` (the CLI, as users run it) in a child process, so its memory can be
 * read from /proc without the bench's own heap in it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startWorkerProcess as startWorker } from '../tools/support/worker-process';

const CLI = path.resolve(__dirname, '../src/cli/cli.js');

export interface BenchWorkerProcess {
  pid: number;
  stop(): Promise<void>;
}

export interface Memory {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size so far, MiB. */
  peakMiB: number;
}

export function readMemory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

export interface WorkerProcessOptions {
  address: string;
  dataDir: string;
  taskQueue: string;
  logFile: string;
  /** More environment for the worker, over the bench's own settings (e.g. WAYMARK_LEDGER_URL). */
  env?: Record<string, string>;
}

const STOP_GRACE_MS = 30_000;

export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<BenchWorkerProcess> {
  const worker = await startWorker({
    cli: CLI,
    env: {
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: 'default',
      WAYMARK_DATA_DIR: opts.dataDir,
      WAYMARK_TASK_QUEUE: opts.taskQueue,
      ...opts.env,
    },
    logFile: opts.logFile,
  });
  return {
    pid: worker.pid,
    async stop() {
      await worker.stop(STOP_GRACE_MS);
    },
  };
}
