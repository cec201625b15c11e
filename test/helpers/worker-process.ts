/**
 * A waymark worker in a child process (the built CLI, `node dist/src/cli/cli.js worker`), so a
 * test can SIGKILL it mid-slice the way a crash or an OOM killer would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';

const CLI = path.resolve(__dirname, '../../dist/src/cli/cli.js');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 60_000;
  while (!output.includes('waymark worker:')) {
    if (child.exitCode !== null) throw new Error(`worker exited before it was ready:\n${output}`);
    if (Date.now() > deadline) throw new Error(`worker not ready within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => output, exited };
}

/** Stops a worker as an operator would (SIGTERM) and shows its output if it did not exit cleanly. */
export async function stopWorkerProcess(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker) return;
  worker.child.kill('SIGTERM');
  const exit = await worker.exited;
  if (exit.code !== 0) console.error(`worker exited with ${JSON.stringify(exit)}:\n${worker.output()}`);
}
