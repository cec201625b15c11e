/**
 * `npm run cluster` refusing to start, each time with one message that says what to do: no Go
 * toolchain (or one too old) to build the server with, a port taken, a PostgreSQL that does not start (that one
 * gets as far as PostgreSQL, so it needs the server build). Nothing is
 * left running or recorded after any of them. (The cluster that does start is
 * batch-on-cluster.test.ts.)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { STATE_FILE_NAME } from '../../tools/cluster/cluster-state';
import type { CliRun } from '../cli/run-cli';
import { findFreePort } from '../../tools/support/free-port';
import { describeWithCluster } from './cluster-prerequisites';
import { makeTempDir, removeTempDirs, writeExecutable } from '../helpers/temp-dir';

const SCRIPT = path.resolve(__dirname, '../../dist/tools/cluster/run-cluster.js');

function runCluster(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A folder the postgres user can reach when the tests run as root (PostgreSQL refuses to run as root). */
function clusterDir(): string {
  const dir = makeTempDir('waymark-cluster-script-');
  fs.chmodSync(dir, 0o755);
  return path.join(dir, 'cluster');
}

async function startArgs(dir: string): Promise<string[]> {
  return ['start', '--dir', dir, '--port', String(20_000 + Math.floor(Math.random() * 13_000)), '--pg-port', String(await findFreePort())];
}

/** Listens on a port the cluster's --port accepts (membership ports 300 below must stay <= 32767). */
async function holdPortInClusterRange(): Promise<{ holder: net.Server; taken: number }> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 13_000);
    const holder = net.createServer();
    const listening = await new Promise<boolean>((resolve) => {
      holder.once('error', () => resolve(false));
      holder.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return { holder, taken: port };
  }
}

afterEach(() => removeTempDirs());

describe('npm run cluster, when it cannot start', () => {
  it('says how to install Go when there is none to build the server with', async () => {
    const dir = clusterDir();
    const withoutGo = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((d) => d && !fs.existsSync(path.join(d, 'go')))
      .join(path.delimiter);
    const run = await runCluster(await startArgs(dir), {
      ...process.env,
      PATH: withoutGo,
      WAYMARK_CLUSTER_BIN_DIR: path.join(path.dirname(dir), 'no-build-yet'),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Go is not installed (no `go` on PATH)');
    expect(run.stderr).toContain('Install Go 1.21 or newer');
    expect(run.stderr).toContain('https://go.dev/dl/');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, STATE_FILE_NAME))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'postgres'))).toBe(false);
  });

  it('says that a Go older than 1.21 cannot build it', async () => {
    const dir = clusterDir();
    const fakeGo = writeExecutable(path.join(path.dirname(dir), 'old-go', 'go'), 'echo go1.19.8');
    const run = await runCluster(await startArgs(dir), {
      ...process.env,
      PATH: `${path.dirname(fakeGo)}${path.delimiter}${process.env.PATH}`,
      WAYMARK_CLUSTER_BIN_DIR: path.join(path.dirname(dir), 'no-build-yet'),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Go on PATH is go1.19.8, too old to build');
    expect(run.stderr).toContain('Install Go 1.21 or newer');
    expect(fs.existsSync(path.join(dir, STATE_FILE_NAME))).toBe(false);
  });

  it('names a port that is taken, before starting anything', async () => {
    const dir = clusterDir();
    const { holder, taken } = await holdPortInClusterRange();
    try {
      // The port taken is the history service's: frontend port + 1.
      const run = await runCluster(['start', '--dir', dir, '--port', String(taken - 1), '--pg-port', String(await findFreePort())]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${taken} (history gRPC) is already in use on 127.0.0.1`);
      expect(run.stderr).toContain('--port <frontend port>');
      expect(fs.existsSync(path.join(dir, STATE_FILE_NAME))).toBe(false);
    } finally {
      holder.close();
    }
  });
});

describeWithCluster('npm run cluster, when PostgreSQL cannot start', () => {
  it('says why PostgreSQL did not start, and leaves nothing running', async () => {
    const dir = clusterDir();
    // A data folder from a PostgreSQL this machine does not have: scripts/postgres.sh refuses it.
    fs.mkdirSync(path.join(dir, 'postgres', 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'postgres', 'data', 'PG_VERSION'), '9\n');
    const run = await runCluster(await startArgs(dir));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PostgreSQL did not start on 127.0.0.1:');
    expect(run.stderr).toContain('was made by PostgreSQL 9');
    expect(run.stderr).toContain(`remove ${path.join(dir, 'postgres')}`);
    expect(fs.existsSync(path.join(dir, STATE_FILE_NAME))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'config'))).toBe(false);
  }, 300_000);
});
