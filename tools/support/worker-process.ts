/**
 * One waymark worker as a child process (`node <built cli.js> worker`), as users run it: a chaos
 * run, a test or the bench can SIGKILL or SIGTERM it like a crash, an OOM killer or a deploy would,
 * and read its memory from /proc without the caller's own heap in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';

/** What `waymark worker` prints once it polls its task queue (after bundling the workflows). */
const READY_LINE = 'waymark worker:';
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const OUTPUT_TAIL_CHARS = 3000;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcessOptions {
  /** The built CLI (`dist/src/cli/cli.js`, or the bench's own build of it). */
  cli: string;
  /** Environment over the caller's own and the defaults below (TEMPORAL_ADDRESS, WAYMARK_*, ...). */
  env: Record<string, string>;
  /**
   * Output is appended to this file (a file, not a pipe, so nothing is lost when it is read late);
   * without one it is kept in memory.
   */
  logFile?: string;
  /** How long the worker may take to print its ready line. */
  readyTimeoutMs?: number;
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  exited: Promise<WorkerExit>;
  /** When the process exited (epoch ms); undefined while it runs. */
  exitedAt(): number | undefined;
  /** Whether the process has exited (`exited` has settled). */
  hasExited(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** Everything this worker has printed so far. */
  output(): string;
  /** SIGTERM (the worker drains its slices), SIGKILL after `graceMs`; resolves with the exit. Safe to call twice. */
  stop(graceMs: number): Promise<WorkerExit>;
}

// One exit hook for every worker ever started: a run that crashes must not leave workers behind,
// and one listener per worker would pile up past Node's listener warning.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts a worker and resolves once it is ready. A worker that exits or hangs before it is ready
 * rejects with the end of its output (and, when it hangs, is killed).
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  // Only the caller's server and ledger: no profile or API key from the user's Temporal
  // configuration, and the SQLite ledger in the data dir unless `env` names another, whatever the shell exports.
  const env = { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, WAYMARK_LEDGER_URL: '', ...options.env };
  let child: ChildProcess;
  let output: () => string;
  if (options.logFile) {
    const logFile = options.logFile;
    const fd = fs.openSync(logFile, 'a');
    const from = fs.fstatSync(fd).size;
    child = spawn(process.execPath, [options.cli, 'worker'], { env, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    output = () => fs.readFileSync(logFile).subarray(from).toString('utf8');
  } else {
    child = spawn(process.execPath, [options.cli, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    output = () => text;
  }
  live.add(child);
  let exitedAt: number | undefined;
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exitedAt = Date.now();
      resolve({ code, signal });
    });
    child.once('error', () => {
      live.delete(child);
      exitedAt = Date.now();
      resolve({ code: null, signal: null });
    });
  });
  const tail = () => {
    const text = output();
    return text.length > OUTPUT_TAIL_CHARS ? `…${text.slice(-OUTPUT_TAIL_CHARS)}` : text;
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (!output().includes(READY_LINE)) {
    if (exitedAt !== undefined) {
      const exit = await exited;
      throw new Error(
        `worker process ${child.pid ?? '(not started)'} exited (${describeExit(exit)}) before it was ready; its output:\n${tail()}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker process ${child.pid} was not ready within ${readyTimeoutMs / 1000} s; its output:\n${tail()}`);
    }
    await sleep(50);
  }
  const hasExited = () => exitedAt !== undefined;
  return {
    pid: child.pid!,
    child,
    exited,
    exitedAt: () => exitedAt,
    hasExited,
    kill: (signal) => void child.kill(signal),
    output,
    async stop(graceMs) {
      if (!hasExited()) {
        child.kill('SIGTERM');
        const drained = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
        if (!drained) child.kill('SIGKILL');
      }
      return exited;
    },
  };
}

function describeExit(exit: WorkerExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
