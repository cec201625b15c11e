/**
 * The PostgreSQL server of the scaling section, where worker processes share one ledger as
 * workers on many machines would: WAYMARK_BENCH_PG_URL, else WAYMARK_TEST_PG_URL (the ledger
 * tests' server, which CI sets), else the project's local server, started by scripts/postgres.sh
 * (and stopped at the end of the bench when the bench was the one to start it).
 * Each use gets a schema of its own, dropped after it, so no batch reads or indexes another's rows.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { maskUrl } from '../src/mask-secrets';
import { log } from './log';

const WHAT_TO_DO =
  'set WAYMARK_BENCH_PG_URL=postgres://USER:PASSWORD@HOST:PORT/DATABASE to a server where the bench may create schemas, ' +
  "or make `scripts/postgres.sh start` work (it installs Debian's postgresql with apt-get, as root or through sudo, and starts it on 127.0.0.1:55432)";

/** A server to measure on, and how to give it back as it was found. */
export interface BenchPostgresServer {
  url: string;
  /** Stops the server if this bench started it; one that was already running is left running. Safe to call twice. */
  stop(): Promise<void>;
}

/** The server to measure on; throws, saying what to do, when there is none. */
export async function benchPostgresServer(root: string): Promise<BenchPostgresServer> {
  const given = process.env.WAYMARK_BENCH_PG_URL || process.env.WAYMARK_TEST_PG_URL;
  if (given) return { url: given, stop: async () => undefined };
  const script = path.join(root, 'scripts', 'postgres.sh');
  // `status` exits 0 when the project's server already runs (someone else's, to leave running).
  const before = await runScript(script, 'status').catch(() => undefined);
  if (before?.code === 0) {
    const url = exportedUrl(before.stdout);
    if (url) {
      log(`PostgreSQL at ${maskUrl(url)} (already running; left running)`);
      return { url, stop: async () => undefined };
    }
  }
  log('no WAYMARK_BENCH_PG_URL or WAYMARK_TEST_PG_URL: scripts/postgres.sh start');
  const { code, stdout } = await runScript(script, 'start').catch((err: Error) => {
    throw new Error(`the scaling section needs a PostgreSQL server and ${script} could not run (${err.message}); ${WHAT_TO_DO}`);
  });
  // From here the server may be up even if the start failed halfway (say, creating the database).
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    spawnSync(script, ['stop'], { stdio: ['ignore', 'ignore', 'inherit'] });
  };
  // A bench that dies before it could stop the server (process.exit in an error path) still stops it.
  process.once('exit', stopSync);
  const stop = async () => {
    process.off('exit', stopSync);
    if (stopped) return;
    stopped = true;
    const result = await runScript(script, 'stop').catch(() => ({ code: null, stdout: '' }));
    if (result.code !== 0) log(`scripts/postgres.sh stop failed (exit ${result.code}); stop the server by hand`);
    else log('PostgreSQL stopped (the bench started it)');
  };
  const url = exportedUrl(stdout);
  if (code !== 0 || !url) {
    await stop();
    const what =
      code !== 0 ? `failed (exit ${code}, its messages above)` : `printed no export line (its output: ${JSON.stringify(stdout.trim())})`;
    throw new Error(`the scaling section needs a PostgreSQL server and \`scripts/postgres.sh start\` ${what}; ${WHAT_TO_DO}`);
  }
  log(`PostgreSQL at ${maskUrl(url)} (started for this bench; stopped at its end)`);
  return { url, stop };
}

function exportedUrl(stdout: string): string | undefined {
  return /^export WAYMARK_TEST_PG_URL=(\S+)$/m.exec(stdout)?.[1];
}

/** Runs scripts/postgres.sh; its progress and errors (stderr) go to the bench's stderr as they come: an install takes minutes. */
function runScript(script: string, command: 'start' | 'stop' | 'status'): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [command], { stdio: ['ignore', 'pipe', command === 'status' ? 'ignore' : 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, stdout: out }));
  });
}

export class BenchPostgres {
  private constructor(
    readonly url: string,
    private readonly admin: Pool,
    /** For the report: what the commit rates were measured on. */
    readonly description: string,
  ) {}

  /** Connects now, so that a server that does not answer fails the bench before it measures anything. */
  static async connect(url: string): Promise<BenchPostgres> {
    const admin = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
    admin.on('error', () => {});
    try {
      const { rows } = await admin.query<{ version: string; sync: string }>(
        "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync",
      );
      return new BenchPostgres(
        url,
        admin,
        `PostgreSQL ${rows[0].version.split(' ')[0]} (synchronous_commit=${rows[0].sync}) on ${new URL(url).host}`,
      );
    } catch (err) {
      await admin.end();
      throw new Error(
        `cannot reach the bench's PostgreSQL at ${maskUrl(url)} (${(err as Error).message}); start that server or fix the URL ` +
          '(WAYMARK_BENCH_PG_URL, else WAYMARK_TEST_PG_URL; with neither set, the bench starts a local server with scripts/postgres.sh)',
        { cause: err },
      );
    }
  }

  /** `use` with the URL of a new, empty schema (its connections' search_path), dropped after it. */
  async inFreshSchema<T>(use: (schemaUrl: string) => Promise<T>): Promise<T> {
    const schema = `waymark_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    await this.admin.query(`CREATE SCHEMA ${schema}`);
    try {
      const schemaUrl = new URL(this.url);
      schemaUrl.searchParams.set('options', `-c search_path=${schema}`);
      return await use(schemaUrl.toString());
    } finally {
      await this.admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  }

  async close(): Promise<void> {
    await this.admin.end();
  }
}
