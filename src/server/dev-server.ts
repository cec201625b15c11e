/**
 * The embedded default server (INVARIANTS.md I10): `temporal server start-dev` keeping its state in
 * `<data dir>/temporal.sqlite`, so batches survive a server restart, with waymark's search
 * attributes registered before anything else uses it.
 *
 * `runDevServer` is `npx waymark dev` (foreground, output on the terminal);
 * `startDevServerInBackground` is for the demo (detached, outliving it) and integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { requireTemporalCli } from './resolve-binaries';
import { dataDir as defaultDataDir } from '../settings';
import { ensureSearchAttributes, SearchAttributeConflict, searchAttributeFlags } from './register-search-attributes';
import { isPortOpen } from './server-probe';
import { CliError } from '../user-error';

export const DEFAULT_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
/** Loopback by default: the dev server skips security checks, so it must not face the network. */
export const DEFAULT_IP = '127.0.0.1';
export const DB_FILE_NAME = 'temporal.sqlite';
/** Where a background server writes its output, next to its database. */
export const LOG_FILE_NAME = 'temporal.log';

const DEFAULT_START_TIMEOUT_MS = 60_000;
/** start-dev flushes SQLite and exits within a second or two of SIGTERM; past this it is stuck. */
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL_BYTES = 4000;

export interface DevServerOptions {
  /** Folder for the SQLite file; default $WAYMARK_DATA_DIR or ./.waymark. Created if missing. */
  dataDir?: string;
  /** gRPC port; default 7233. */
  port?: number;
  /** Web UI port; default 8233. */
  uiPort?: number;
  /** Address the gRPC service and the Web UI bind to; default 127.0.0.1. */
  ip?: string;
  /** How long the server may take to accept connections; default 60 s. */
  startTimeoutMs?: number;
}

export interface BackgroundDevServerOptions extends DevServerOptions {
  /**
   * Keep the server running after this process exits (own process group, not killed with us),
   * so the Web UI and the batches stay available after a demo. Default false: the server
   * dies with this process, as tests want.
   */
  detached?: boolean;
}

export interface BackgroundDevServer {
  /** host:port for TEMPORAL_ADDRESS / Connection.connect. */
  address: string;
  uiUrl: string;
  dbFile: string;
  /** The server's stdout and stderr, appended to on every start. */
  logFile: string;
  /**
   * Its Prometheus endpoint, from its banner: among its metrics, `action`, the Temporal Cloud
   * actions it counted by type (what the bench reports as a batch's orchestration cost).
   */
  metricsUrl?: string;
  pid: number;
  /** SIGTERM, then SIGKILL if the server has not exited after a grace period. Safe to call twice. */
  stop(): Promise<void>;
}

interface DevServerPlan {
  dataDir: string;
  cli: string;
  args: string[];
  ip: string;
  port: number;
  uiPort: number;
  address: string;
  uiUrl: string;
  dbFile: string;
  startTimeoutMs: number;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

/**
 * Runs the dev server in the foreground until it exits, forwarding SIGINT/SIGTERM to it.
 * Resolves with the exit code for the CLI to exit with (128 + signal number if killed).
 */
export async function runDevServer(options: DevServerOptions = {}): Promise<number> {
  const plan = planDevServer(options);
  await assertPortsFree(plan);

  const child = spawn(plan.cli, plan.args, { stdio: 'inherit' });
  const exited = watchExit(child);
  // Ctrl-C at a terminal reaches the child directly (same process group), but `kill <pid>`,
  // process managers and containers signal only us. A repeated SIGINT is harmless to start-dev.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    try {
      await untilReady(plan, exited, () => ' Its output is above.');
    } catch (error) {
      if (error instanceof ExitedEarly) return exitCodeOf(error.exit, plan);
      await stopChild(child, exited);
      throw error;
    }
    return exitCodeOf(await exited, plan);
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * Starts the dev server as a child process and resolves once it accepts connections and has
 * waymark's search attributes. If it dies or hangs, rejects with the tail of its output.
 */
export async function startDevServerInBackground(options: BackgroundDevServerOptions = {}): Promise<BackgroundDevServer> {
  const plan = planDevServer(options);
  await assertPortsFree(plan);

  // Output goes to a file, not a pipe: a detached server must not die of SIGPIPE once we are
  // gone, and the file is where to look when it misbehaves later.
  const logFile = path.join(plan.dataDir, LOG_FILE_NAME);
  const logFd = fs.openSync(logFile, 'a');
  const logStart = fs.fstatSync(logFd).size;
  const detached = options.detached ?? false;
  const child = spawn(plan.cli, plan.args, { stdio: ['ignore', logFd, logFd], detached });
  fs.closeSync(logFd);
  const outputTail = () => `\nLast output of the server (${logFile}):\n${readTail(logFile, logStart) || '(none)'}`;

  const exited = watchExit(child);
  // A test run that crashes before stop() would otherwise leave a server holding the ports
  // and the SQLite file's lock.
  const killOnExit = () => child.kill('SIGKILL');
  if (detached) child.unref();
  else process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child, exited);
  };

  try {
    // The banner comes once start-dev holds its ports: an open port alone may be another process
    // that took it between assertPortsFree and the bind (start-dev then exits with a bind error).
    await untilReady(plan, exited, outputTail, () => readTail(logFile, logStart).includes('Temporal Server:'));
  } catch (error) {
    await stop();
    if (error instanceof ExitedEarly) {
      if (error.exit.error) throw cannotRun(plan, error.exit.error);
      throw new Error(
        `The Temporal dev server (${plan.cli}) ${describeExit(error.exit)} before accepting connections on ${plan.address}.` + outputTail(),
        { cause: error },
      );
    }
    throw error;
  }
  const metricsUrl = /Temporal Metrics:\s+(\S+)/.exec(readTail(logFile, logStart))?.[1];
  // Spawn failures were turned into errors by untilReady, so the process has a pid here.
  return {
    address: plan.address,
    uiUrl: plan.uiUrl,
    dbFile: plan.dbFile,
    logFile,
    pid: child.pid!,
    stop,
    ...(metricsUrl ? { metricsUrl } : {}),
  };
}

/** The end of what was written to `file` after byte offset `from`. */
function readTail(file: string, from: number): string {
  const bytes = fs.readFileSync(file);
  return bytes
    .subarray(Math.max(from, bytes.length - OUTPUT_TAIL_BYTES))
    .toString('utf8')
    .trim();
}

function planDevServer(options: DevServerOptions): DevServerPlan {
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir());
  const ip = options.ip ?? DEFAULT_IP;
  const port = options.port ?? DEFAULT_PORT;
  const uiPort = options.uiPort ?? DEFAULT_UI_PORT;
  const cli = requireTemporalCli();
  fs.mkdirSync(dataDir, { recursive: true });
  const dbFile = path.join(dataDir, DB_FILE_NAME);
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return {
    dataDir,
    cli,
    args: [
      'server',
      'start-dev',
      '--db-filename',
      dbFile,
      '--ip',
      ip,
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      // Takes effect only when the SQLite file is new; ensureSearchAttributes covers older files.
      ...searchAttributeFlags(),
      // Task queue fairness (a batch's fairnessKey), off by default in the server; priority is on.
      '--dynamic-config-value',
      'matching.enableFairness=true',
    ],
    ip,
    port,
    uiPort,
    address: `${host}:${port}`,
    uiUrl: `http://${host}:${uiPort}`,
    dbFile,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
  };
}

/**
 * Checked up front because start-dev would otherwise die with a bind error, or worse, when
 * a Temporal server already holds the port, our readiness check would talk to that one.
 */
async function assertPortsFree(plan: DevServerPlan): Promise<void> {
  for (const [role, port] of [
    ['gRPC', plan.port],
    ['Web UI', plan.uiPort],
  ] as const) {
    if (await isPortOpen(plan.ip, port)) {
      throw new CliError(
        `cannot start the Temporal dev server: ${plan.ip}:${port} (its ${role} port) is already in use. ` +
          `If a waymark dev server is already running there, use it (TEMPORAL_ADDRESS=${plan.address}); ` +
          `otherwise stop what holds the port or choose other ports.`,
      );
    }
  }
}

class ExitedEarly extends Error {
  constructor(readonly exit: ExitInfo) {
    super('the Temporal dev server exited before accepting connections');
  }
}

async function untilReady(
  plan: DevServerPlan,
  exited: Promise<ExitInfo>,
  outputHint: () => string,
  started: () => boolean = () => true,
): Promise<void> {
  let exit: ExitInfo | undefined;
  void exited.then((info) => (exit = info));
  const deadline = Date.now() + plan.startTimeoutMs;

  // A TCP poll notices the port opening within 100 ms; a gRPC connect retrying on its own
  // would back off for seconds.
  while (!(started() && (await isPortOpen(plan.ip, plan.port)))) {
    if (exit) throw new ExitedEarly(exit);
    if (Date.now() > deadline) {
      throw new Error(
        `The Temporal dev server did not accept connections on ${plan.address} within ${plan.startTimeoutMs / 1000} s.` +
          `${outputHint()} If the machine is just slow, raise startTimeoutMs.`,
      );
    }
    await sleep(100);
  }

  try {
    // The port is open, so connecting takes milliseconds unless the server is going down.
    const connection = await Connection.connect({ address: plan.address, connectTimeout: 5000 });
    try {
      await ensureSearchAttributes(connection);
    } finally {
      await connection.close();
    }
  } catch (error) {
    if (exit) throw new ExitedEarly(exit);
    if (error instanceof SearchAttributeConflict) {
      throw new Error(
        `${error.message} The dev server keeps its namespaces in ${plan.dbFile}; ` +
          `give waymark a data folder of its own (WAYMARK_DATA_DIR) to avoid the clash.`,
        { cause: error },
      );
    }
    throw new Error(
      `The Temporal dev server opened ${plan.address} but registering waymark's search attributes failed: ` +
        `${(error as Error).message}.${outputHint()} Start it again; if this repeats, the server's output says why.`,
      { cause: error },
    );
  }
}

function watchExit(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<ExitInfo>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  // Unref'd: once the server has exited, this timer must not keep the process alive for the rest of the grace period.
  const gracePeriod = sleep(STOP_GRACE_MS, false, { ref: false });
  const stoppedInTime = await Promise.race([exited.then(() => true), gracePeriod]);
  if (!stoppedInTime) {
    child.kill('SIGKILL');
    await exited;
  }
}

function exitCodeOf(exit: ExitInfo, plan: DevServerPlan): number {
  if (exit.error) throw cannotRun(plan, exit.error);
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? os.constants.signals[exit.signal] : 0);
}

function cannotRun(plan: DevServerPlan, error: Error): Error {
  return new Error(
    `Could not run ${plan.cli}: ${error.message}. It must be the temporal executable for this platform; ` +
      `reinstall it with \`npm run setup\` or point WAYMARK_TEMPORAL_CLI at a working one.`,
  );
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
