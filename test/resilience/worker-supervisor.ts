/**
 * What systemd, Kubernetes or a process manager does for a real deployment: runs a waymark
 * worker process and starts a fresh one whenever it dies, keeping a record of every death.
 */
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

export interface WorkerExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerSupervisor {
  /** Every worker process that died on its own, in order; a stop() is not a death. */
  readonly deaths: WorkerExit[] = [];
  private current: WorkerProcess | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Set when a restart failed (the new worker died before it was ready); supervision ends there. */
  restartError: Error | undefined;

  constructor(private readonly env: Record<string, string>) {}

  /** Starts the first worker and resolves once it polls; restarts follow by themselves. */
  async start(): Promise<void> {
    this.current = await startWorkerProcess(this.env);
    this.loop = this.supervise(this.current).catch((err: Error) => {
      this.restartError = err;
    });
  }

  /** Stops the supervision and the worker (SIGTERM, then SIGKILL after `graceMs`). Safe to call twice. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const worker = this.current;
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGTERM');
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), graceMs);
      await worker.exited;
      clearTimeout(timer);
    }
    await this.loop;
  }

  private async supervise(first: WorkerProcess): Promise<void> {
    let worker = first;
    for (;;) {
      const { code, signal } = await worker.exited;
      if (this.stopping) return;
      this.deaths.push({ pid: worker.child.pid!, code, signal });
      worker = await startWorkerProcess(this.env);
      this.current = worker;
      if (this.stopping) {
        // stop() ran while this one was starting and saw only its dead predecessor.
        worker.child.kill('SIGKILL');
        await worker.exited;
        return;
      }
    }
  }
}
