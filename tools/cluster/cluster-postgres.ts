/**
 * The cluster's PostgreSQL: scripts/postgres.sh (which installs Debian's postgresql if missing)
 * on a port and in a folder of the cluster's own, so it never touches the ledger tests' server.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { POSTGRES_SCRIPT, projectRoot } from './cluster-layout';

export interface ClusterPostgres {
  port: number;
  /** The cluster folder postgres.sh keeps it in (data/, postgres.log). */
  home: string;
}

export class PostgresStartError extends Error {
  override name = 'PostgresStartError';
}

function scriptEnv(pg: ClusterPostgres): NodeJS.ProcessEnv {
  return { ...process.env, WAYMARK_PG_PORT: String(pg.port), WAYMARK_PG_DIR: pg.home };
}

function runScript(pg: ClusterPostgres, command: 'start' | 'stop' | 'status'): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(projectRoot(), POSTGRES_SCRIPT), command], {
      env: scriptEnv(pg),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

/** True when the cluster's own PostgreSQL runs (not merely something on its port). */
export async function postgresRunning(pg: ClusterPostgres): Promise<boolean> {
  return (await runScript(pg, 'status')).code === 0;
}

/** Starts it (or finds it running) and returns the postmaster's pid. */
export async function startPostgres(pg: ClusterPostgres, log: (line: string) => void): Promise<number> {
  fs.mkdirSync(path.dirname(pg.home), { recursive: true });
  const { code, stderr } = await runScript(pg, 'start');
  if (code !== 0) {
    throw new PostgresStartError(
      `PostgreSQL did not start on 127.0.0.1:${pg.port} (${POSTGRES_SCRIPT} exited with code ${code}):\n${tail(stderr)}\n` +
        `Its log is ${path.join(pg.home, 'postgres.log')}. If the port is taken, pass --pg-port; if its folder is broken, remove ${pg.home} ` +
        '(the cluster then starts with empty databases).',
    );
  }
  for (const line of stderr.trim().split('\n')) if (line.startsWith('postgres.sh:')) log(line);
  const pid = postmasterPid(pg);
  if (pid === undefined) throw new PostgresStartError(`${POSTGRES_SCRIPT} says PostgreSQL started, but ${pidFile(pg)} names no process`);
  return pid;
}

export async function stopPostgres(pg: ClusterPostgres): Promise<void> {
  const { code, stderr } = await runScript(pg, 'stop');
  if (code !== 0) throw new Error(`stopping PostgreSQL (${pg.home}) failed:\n${tail(stderr)}`);
}

function pidFile(pg: ClusterPostgres): string {
  return path.join(pg.home, 'data', 'postmaster.pid');
}

/** Line 1 of postmaster.pid. */
export function postmasterPid(pg: ClusterPostgres): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(pg), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-15).join('\n');
}
