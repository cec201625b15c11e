/**
 * One waymark worker as a child process (`node dist/src/cli/cli.js worker`), which the chaos run
 * can SIGKILL or SIGTERM like a crash, an OOM killer or a deploy would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';

/** What `waymark worker` prints once it polls its task queue (after bundling the workflows). */
const READY_LINE = 'waymark worker:';
const READY_TIMEOUT_MS = 120_000;
const OUTPUT_TAIL_CHARS = 3000;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface WorkerProcess {
  pid: number;
  exited: Promise<ExitInfo>;
  /** Whether the process has exited (the promise above has settled). */
  hasExited(): boolean;
  kill(signal: NodeJS.Signals): void;
}

// One exit hook for every worker ever started: a run that crashes must not leave workers behind,
// and one listener per restart would pile up past Node's listener warning.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts a worker and resolves once it is ready. Its output is appended to `logFile` (a file, not
 * a pipe, so nothing is lost when the chaos run reads it late); a worker that exits or hangs
 * before it is ready rejects with the end of that output.
 */
export async function startWorkerProcess(cli: string, env: Record<string, string>, logFile: string): Promise<WorkerProcess> {
  const fd = fs.openSync(logFile, 'a');
  const from = fs.fstatSync(fd).size;
  const child = spawn(process.execPath, [cli, 'worker'], { env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  live.add(child);
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = { code, signal, at: Date.now() };
      resolve(exit);
    });
    child.once('error', () => {
      live.delete(child);
      exit = { code: null, signal: null, at: Date.now() };
      resolve(exit);
    });
  });
  const output = () => {
    const text = fs.readFileSync(logFile).subarray(from).toString('utf8');
    return text.length > OUTPUT_TAIL_CHARS ? `…${text.slice(-OUTPUT_TAIL_CHARS)}` : text;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output().includes(READY_LINE)) {
    if (exit) throw new Error(`worker process ${child.pid ?? '(not started)'} exited (${describeExit(exit)}) before it was ready; its output:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker process ${child.pid} was not ready within ${READY_TIMEOUT_MS / 1000} s; its output:\n${output()}`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid!,
    exited,
    hasExited: () => exit !== undefined,
    kill: (signal) => void child.kill(signal),
  };
}

export function describeExit(exit: Pick<ExitInfo, 'code' | 'signal'>): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
