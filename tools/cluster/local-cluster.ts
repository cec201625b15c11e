/**
 * A real Temporal cluster on this machine, as `npm run cluster` starts it: PostgreSQL on loopback,
 * the databases created and migrated with temporal-sql-tool, and the four services (history,
 * matching, frontend, worker) as four processes of the pinned server build, each with its own
 * ports, sharing one config. Then the namespace and waymark's search attributes.
 *
 * Every pid is recorded in the cluster folder as soon as its process runs, so `stop` (from any
 * process, later) stops exactly what was started, and a failed start stops what it had started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isPortOpen } from '../../src/server/server-probe';
import {
  NAMESPACE,
  SERVICES,
  TEMPORAL_SERVER_VERSION,
  clusterPorts,
  defaultClusterDir,
  defaultServerBinDir,
  describedPorts,
  ledgerUrl,
  DEFAULT_FRONTEND_PORT,
  DEFAULT_PG_PORT,
  type ServiceName,
} from './cluster-layout';
import { prepareNamespace } from './cluster-namespace';
import { postgresRunning, startPostgres, stopPostgres, type ClusterPostgres } from './cluster-postgres';
import { prepareDatabases } from './cluster-schema';
import { readState, removeState, writeState, type ClusterState } from './cluster-state';
import { isRunning, killProcess, startListeningProcess, stopProcess } from './processes';
import { buildServerBinaries } from './server-binaries';
import { writeServerConfig } from './server-config';

const DEFAULT_SERVICE_START_TIMEOUT_MS = 120_000;
const NAMESPACE_TIMEOUT_MS = 120_000;
/** The postmaster's command line: `/usr/lib/postgresql/15/bin/postgres -D ...`. */
const POSTGRES_MARKER = 'postgres';

export interface ClusterOptions {
  /** Where config, logs, PostgreSQL and the record of processes go; default `.waymark/cluster`. */
  dir?: string;
  /** The frontend's gRPC port; the other services' ports are placed around it. Default 7233. */
  port?: number;
  /** PostgreSQL's port; default 55433. */
  pgPort?: number;
  /** Where the server build goes; default `.temporal-bin/temporal-server-<version>`. */
  binDir?: string;
  /** How long each service may take to listen; default 120 s. */
  serviceStartTimeoutMs?: number;
  log?: (line: string) => void;
}

export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

export class LocalCluster {
  private constructor(
    readonly dir: string,
    private state: ClusterState,
    private readonly serviceStartTimeoutMs: number,
  ) {}

  /** The cluster recorded in `dir`, running or not (a record outlives processes that died). */
  static fromRecord(dir: string = defaultClusterDir(), serviceStartTimeoutMs = DEFAULT_SERVICE_START_TIMEOUT_MS): LocalCluster | undefined {
    const resolved = path.resolve(dir);
    const state = readState(resolved);
    return state ? new LocalCluster(resolved, state, serviceStartTimeoutMs) : undefined;
  }

  /** The cluster recorded in `dir` if any of its services runs. */
  static attach(dir: string = defaultClusterDir(), serviceStartTimeoutMs = DEFAULT_SERVICE_START_TIMEOUT_MS): LocalCluster | undefined {
    const cluster = LocalCluster.fromRecord(dir, serviceStartTimeoutMs);
    return cluster?.processes().some((p) => p.name !== 'postgres' && p.running) ? cluster : undefined;
  }

  /**
   * Starts the cluster, or finds it already running from `dir` (`alreadyRunning`: nothing was
   * started then). A start that fails stops whatever it had started before it throws.
   */
  static async start(options: ClusterOptions = {}): Promise<{ cluster: LocalCluster; alreadyRunning: boolean }> {
    const log = options.log ?? (() => {});
    const dir = path.resolve(options.dir ?? defaultClusterDir());
    const timeoutMs = options.serviceStartTimeoutMs ?? DEFAULT_SERVICE_START_TIMEOUT_MS;
    const running = LocalCluster.attach(dir, timeoutMs);
    if (running) return { cluster: running, alreadyRunning: true };

    const frontendPort = options.port ?? DEFAULT_FRONTEND_PORT;
    const pgPort = options.pgPort ?? DEFAULT_PG_PORT;
    const ports = clusterPorts(frontendPort);
    const pg: ClusterPostgres = { port: pgPort, home: path.join(dir, 'postgres') };
    await assertPortsFree(ports, pg);

    const binaries = await buildServerBinaries(path.resolve(options.binDir ?? defaultServerBinDir()), log);
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    const cluster = new LocalCluster(
      dir,
      {
        serverVersion: TEMPORAL_SERVER_VERSION,
        address: `127.0.0.1:${frontendPort}`,
        frontendPort,
        pgPort,
        pgHome: pg.home,
        ledgerUrl: ledgerUrl(pgPort),
        serverBinary: binaries.server,
        configFile: path.join(dir, 'config', 'temporal-server.yaml'),
        services: {},
        startedAt: new Date().toISOString(),
      },
      timeoutMs,
    );
    try {
      cluster.state.postgresPid = await startPostgres(pg, log);
      cluster.save();
      await prepareDatabases(binaries, pgPort, log);
      writeServerConfig(cluster.state.configFile, ports, pgPort);
      for (const service of SERVICES) {
        const pid = await cluster.startService(service);
        log(`started ${service} (pid ${pid}) on 127.0.0.1:${ports.grpc[service]}`);
      }
      await prepareNamespace(cluster.address, NAMESPACE, NAMESPACE_TIMEOUT_MS, log);
    } catch (err) {
      log(`the cluster did not come up; stopping what was started`);
      await cluster.stop().catch((stopErr: Error) => log(`stopping failed too: ${stopErr.message}`));
      throw err;
    }
    return { cluster, alreadyRunning: false };
  }

  get address(): string {
    return this.state.address;
  }

  get ledgerUrl(): string {
    return this.state.ledgerUrl;
  }

  get record(): Readonly<ClusterState> {
    return this.state;
  }

  /** Every recorded process, services in start order then PostgreSQL, and whether it runs. */
  processes(): { name: ServiceName | 'postgres'; pid?: number; running: boolean }[] {
    return [
      ...SERVICES.map((name) => {
        const pid = this.state.services[name];
        return { name, pid, running: isRunning(pid, this.state.serverBinary) };
      }),
      { name: 'postgres' as const, pid: this.state.postgresPid, running: isRunning(this.state.postgresPid, POSTGRES_MARKER) },
    ];
  }

  /** Starts one service process (again, after a kill) and resolves once it listens; returns its pid. */
  async startService(service: ServiceName): Promise<number> {
    if (isRunning(this.state.services[service], this.state.serverBinary))
      throw new Error(`${service} already runs (pid ${this.state.services[service]})`);
    const port = clusterPorts(this.state.frontendPort).grpc[service];
    const { pid } = await startListeningProcess({
      command: this.state.serverBinary,
      args: ['--config-file', this.state.configFile, '--allow-no-auth', 'start', '--service', service],
      logFile: path.join(this.dir, 'logs', `${service}.log`),
      port,
      what: `the Temporal ${service} service`,
      timeoutMs: this.serviceStartTimeoutMs,
    });
    this.state.services[service] = pid;
    this.save();
    return pid;
  }

  /** SIGKILLs one service process and waits until it is gone; returns its pid and when the signal was sent. */
  async killService(service: ServiceName): Promise<{ pid: number; at: number }> {
    const pid = this.state.services[service];
    if (pid === undefined || !isRunning(pid, this.state.serverBinary)) throw new Error(`${service} is not running`);
    return { pid, at: await killProcess(pid, this.state.serverBinary) };
  }

  /**
   * Stops every recorded process (services in reverse start order, then PostgreSQL) and removes
   * the record. Returns one line per process that was running.
   */
  async stop(): Promise<string[]> {
    const stopped: string[] = [];
    for (const service of [...SERVICES].reverse()) {
      const pid = this.state.services[service];
      if (await stopProcess(pid, this.state.serverBinary)) stopped.push(`${service} (pid ${pid})`);
    }
    const pg: ClusterPostgres = { port: this.state.pgPort, home: this.state.pgHome };
    if (await postgresRunning(pg)) {
      await stopPostgres(pg);
      stopped.push(`PostgreSQL (pid ${this.state.postgresPid ?? '?'})`);
    }
    // pg_ctl stopped the server it found in the folder; the recorded pid must be gone with it.
    await stopProcess(this.state.postgresPid, POSTGRES_MARKER);
    removeState(this.dir);
    return stopped;
  }

  private save(): void {
    writeState(this.dir, this.state);
  }
}

/** Stops the cluster recorded in `dir`, even one whose services died (its PostgreSQL still runs); undefined when there is no record. */
export async function stopCluster(dir: string = defaultClusterDir()): Promise<string[] | undefined> {
  return LocalCluster.fromRecord(dir)?.stop();
}

async function assertPortsFree(ports: ReturnType<typeof clusterPorts>, pg: ClusterPostgres): Promise<void> {
  const taken: string[] = [];
  for (const { port, role } of describedPorts(ports)) {
    if (await isPortOpen('127.0.0.1', port)) taken.push(`${port} (${role})`);
  }
  if (!(await postgresRunning(pg)) && (await isPortOpen('127.0.0.1', pg.port))) taken.push(`${pg.port} (PostgreSQL)`);
  if (taken.length > 0) {
    throw new PortTakenError(
      `Cannot start the cluster: port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} already in use on 127.0.0.1. ` +
        `Stop what holds ${taken.length > 1 ? 'them' : 'it'} (a Temporal dev server listens on 7233 by default), or choose other ports with ` +
        '`npm run cluster -- --port <frontend port> --pg-port <PostgreSQL port>` (the services take the frontend port P, P+1, P+2, P+6, P+10, P-300, P-299, P-298 and P-294).',
    );
  }
}
