/**
 * The processes a chaos run interrupts: one Temporal dev server on fixed ports with its SQLite file
 * in the data dir (so a restarted server has every batch), and W waymark worker processes.
 * Planned kills are the run's own; a worker that dies of anything else is restarted and reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { DEFAULT_IP, startDevServerInBackground, type BackgroundDevServer } from '../../src/server/dev-server';
import { startOnFreePorts } from '../support/free-port';
import { startWorkerProcess, type WorkerExit, type WorkerProcess } from '../support/worker-process';

/** How long a worker may take to drain on SIGTERM before the cluster, stopping, kills it. */
const STOP_GRACE_MS = 15_000;

export interface ClusterOptions {
  dataDir: string;
  workers: number;
  /** `dist/src/cli/cli.js`. */
  cli: string;
  /** Environment of every worker besides TEMPORAL_ADDRESS. */
  workerEnv: Record<string, string>;
  log: (line: string) => void;
}

/** A worker's exit and when it happened (epoch ms). */
export interface ExitInfo extends WorkerExit {
  at: number;
}

export interface UnplannedExit extends ExitInfo {
  worker: number;
  pid: number;
}

export class ChaosCluster {
  readonly unplannedExits: UnplannedExit[] = [];
  private server: BackgroundDevServer | undefined;
  private readonly workers: (WorkerProcess | undefined)[];
  private readonly plannedExits = new Set<number>();
  private restartFailure: Error | undefined;
  private stopping = false;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly port: number,
    private readonly uiPort: number,
  ) {
    this.workers = new Array<WorkerProcess | undefined>(options.workers).fill(undefined);
  }

  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    // Restarts reuse these ports; only the first start can move to new ones if another process takes one.
    const cluster = await startOnFreePorts(2, async ([port, uiPort]) => {
      const candidate = new ChaosCluster(options, port, uiPort);
      await candidate.startServer();
      return candidate;
    });
    try {
      await Promise.all(cluster.workers.map((_, i) => cluster.startWorker(i)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get address(): string {
    return `${DEFAULT_IP}:${this.port}`;
  }

  /** Throws if a worker that died unplanned could not be restarted. */
  check(): void {
    if (this.restartFailure) throw this.restartFailure;
  }

  /** Starts the dev server on the cluster's ports and SQLite file; returns its pid. */
  async startServer(): Promise<number> {
    this.server = await startDevServerInBackground({ dataDir: this.options.dataDir, port: this.port, uiPort: this.uiPort });
    return this.server.pid;
  }

  /**
   * SIGKILL, then wait for the process to be gone, so a restart can take its ports and SQLite
   * file. Returns when the signal was sent (epoch ms).
   */
  async killServer(): Promise<number> {
    const server = this.server;
    if (!server) throw new Error('the dev server is not running');
    this.server = undefined;
    const at = Date.now();
    process.kill(server.pid, 'SIGKILL');
    // stop() only waits here: the process is already dead.
    await server.stop();
    return at;
  }

  /** Starts worker `slot` and resolves once it is ready; returns its pid. */
  async startWorker(slot: number): Promise<number> {
    if (this.workers[slot] && !this.workers[slot].hasExited()) throw new Error(`worker ${slot} is already running`);
    const worker = await startWorkerProcess({
      cli: this.options.cli,
      env: { ...this.options.workerEnv, TEMPORAL_ADDRESS: this.address },
      logFile: path.join(this.options.dataDir, `worker-${slot}.log`),
    });
    if (this.stopping) {
      // A restart after an unplanned exit that finished while the cluster stopped: nobody would stop this one.
      worker.kill('SIGKILL');
      await worker.exited;
      throw new Error(`worker ${slot} started while the cluster was stopping`);
    }
    this.workers[slot] = worker;
    void worker.exited.then((exit) => this.onExit(slot, worker, { ...exit, at: worker.exitedAt()! }));
    return worker.pid;
  }

  /**
   * Sends `signal` to worker `slot` and resolves when it has exited (a SIGTERMed worker drains
   * first), with when the signal was sent (epoch ms).
   */
  async signalWorker(slot: number, signal: NodeJS.Signals): Promise<{ pid: number; at: number; exit: ExitInfo }> {
    const worker = await this.runningWorker(slot);
    this.plannedExits.add(worker.pid);
    const at = Date.now();
    worker.kill(signal);
    const exit = await worker.exited;
    return { pid: worker.pid, at, exit: { ...exit, at: worker.exitedAt()! } };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.workers.map(async (worker) => {
        await worker?.stop(STOP_GRACE_MS);
      }),
    );
    await this.server?.stop();
    this.server = undefined;
  }

  /** A worker being restarted after an unplanned exit is waited for, not killed twice. */
  private async runningWorker(slot: number): Promise<WorkerProcess> {
    for (;;) {
      this.check();
      const worker = this.workers[slot];
      if (worker && !worker.hasExited()) return worker;
      await sleep(100);
    }
  }

  private onExit(slot: number, worker: WorkerProcess, exit: ExitInfo): void {
    if (this.stopping || this.plannedExits.delete(worker.pid)) return;
    this.unplannedExits.push({ worker: slot, pid: worker.pid, ...exit });
    this.options.log(`worker ${slot} (pid ${worker.pid}) exited unplanned (${exit.signal ?? `code ${exit.code}`}); restarting it`);
    void this.restartWhenServerUp(slot).catch((err: Error) => (this.restartFailure ??= err));
  }

  /** A worker cannot start without a server to connect to. */
  private async restartWhenServerUp(slot: number): Promise<void> {
    while (!this.server) {
      if (this.stopping) return;
      await sleep(100);
    }
    if (!this.stopping) await this.startWorker(slot);
  }
}
