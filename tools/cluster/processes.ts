/**
 * The cluster's processes by pid: started detached (they outlive `npm run cluster`), recognised
 * again by their command line (a pid recorded yesterday may belong to another program today),
 * and stopped with SIGTERM, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPortOpen } from '../../src/server/server-probe';

const STOP_GRACE_MS = 15_000;
const LOG_TAIL_BYTES = 4000;

/** The process's argv, or undefined when it is gone (or a zombie waiting to be reaped). */
function commandLine(pid: number): string[] | undefined {
  if (process.platform !== 'linux') {
    try {
      process.kill(pid, 0);
      return [];
    } catch {
      return undefined;
    }
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` runs and its command line contains `marker` (the server binary's path,
 * `postgres`). Outside Linux only that the pid runs.
 */
export function isRunning(pid: number | undefined, marker: string): boolean {
  if (pid === undefined) return false;
  const argv = commandLine(pid);
  if (argv === undefined) return false;
  return process.platform !== 'linux' || argv.some((arg) => arg.includes(marker));
}

export interface StartedProcess {
  pid: number;
}

/**
 * Starts `command` in its own process group with its output appended to `logFile`, and resolves
 * once it listens on `port`. A process that exits or hangs before then rejects with the end of its log.
 */
export async function startListeningProcess(options: {
  command: string;
  args: string[];
  logFile: string;
  port: number;
  what: string;
  timeoutMs: number;
}): Promise<StartedProcess> {
  const { command, args, logFile, port, what, timeoutMs } = options;
  const fd = fs.openSync(logFile, 'a');
  const from = fs.fstatSync(fd).size;
  const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ? `was killed by ${signal}` : `exited with code ${code}`));
  child.once('error', (err) => (exit = `could not be run: ${err.message}`));
  child.unref();
  const logTail = () => {
    const bytes = fs.readFileSync(logFile);
    return (
      bytes
        .subarray(Math.max(from, bytes.length - LOG_TAIL_BYTES))
        .toString('utf8')
        .trim() || '(no output)'
    );
  };

  const deadline = Date.now() + timeoutMs;
  while (!(await isPortOpen('127.0.0.1', port))) {
    if (exit) throw new Error(`${what} ${exit} before listening on 127.0.0.1:${port}. The end of its log (${logFile}):\n${logTail()}`);
    if (Date.now() > deadline) {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      throw new Error(
        `${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s. The end of its log (${logFile}):\n${logTail()}`,
      );
    }
    await sleep(100);
  }
  return { pid: child.pid! };
}

/** SIGKILL and wait until it is gone; returns when the signal was sent (epoch ms). */
export async function killProcess(pid: number, marker: string): Promise<number> {
  const at = Date.now();
  signal(pid, 'SIGKILL');
  await untilGone(pid, marker, 10_000);
  return at;
}

/** SIGTERM, then SIGKILL after a grace period. False when it was not running. */
export async function stopProcess(pid: number | undefined, marker: string, graceMs = STOP_GRACE_MS): Promise<boolean> {
  if (pid === undefined || !isRunning(pid, marker)) return false;
  signal(pid, 'SIGTERM');
  if (!(await untilGone(pid, marker, graceMs))) {
    signal(pid, 'SIGKILL');
    await untilGone(pid, marker, 10_000);
  }
  return true;
}

/** A process that exited a moment ago is no error. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function untilGone(pid: number, marker: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid, marker)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
