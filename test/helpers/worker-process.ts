/**
 * The tests' waymark worker in a child process (the built CLI), so a test can SIGKILL it
 * mid-slice the way a crash or an OOM killer would. Output is kept in memory for `output()`.
 */
import path from 'node:path';
import { startWorkerProcess as startWorker, type WorkerProcess } from '../../tools/support/worker-process';

export type { WorkerProcess };

export const BUILT_CLI = path.resolve(__dirname, '../../dist/src/cli/cli.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

export function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  return startWorker({ cli: BUILT_CLI, env, readyTimeoutMs: READY_TIMEOUT_MS });
}

/**
 * Stops a worker as an operator would (SIGTERM; SIGKILL if it has not drained after a grace period)
 * and shows its output if it did not exit cleanly.
 */
export async function stopWorkerProcess(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker) return;
  const exit = await worker.stop(STOP_GRACE_MS);
  if (exit.code !== 0) console.error(`worker exited with ${JSON.stringify(exit)}:\n${worker.output()}`);
}

/** In afterAll: SIGTERM every worker a test left running (one it killed is gone already), and wait for all. */
export async function stopLeftWorkers(workers: WorkerProcess[]): Promise<void> {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}
