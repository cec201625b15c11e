/**
 * A real `waymark worker` (the CLI, as users run it) in a child process, so its memory can be
 * read from /proc without the bench's own heap in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CLI = path.resolve(__dirname, '../src/cli/cli.js');
const READY_LINE = 'waymark worker:';

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

export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<BenchWorkerProcess> {
  const fd = fs.openSync(opts.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [CLI, 'worker'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: 'default',
      // Only the bench's server: no profile or API key from the user's Temporal configuration.
      TEMPORAL_CONFIG_FILE: path.join(opts.dataDir, 'no-temporal-config.toml'),
      TEMPORAL_PROFILE: '',
      TEMPORAL_API_KEY: '',
      WAYMARK_DATA_DIR: opts.dataDir,
      WAYMARK_TASK_QUEUE: opts.taskQueue,
      // The SQLite ledger in the data dir unless the caller says otherwise, whatever the shell exports.
      WAYMARK_LEDGER_URL: '',
      ...opts.env,
    },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!fs.readFileSync(opts.logFile, 'utf8').includes(READY_LINE)) {
    if (child.exitCode !== null) throw new Error(`worker exited before it was ready:\n${fs.readFileSync(opts.logFile, 'utf8').slice(-3000)}`);
    if (Date.now() > deadline) {
      kill();
      throw new Error(`worker not ready within 120 s:\n${fs.readFileSync(opts.logFile, 'utf8').slice(-3000)}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(30_000, false)]);
      if (!stopped) {
        kill();
        await exited;
      }
    },
  };
}
