/**
 * The PostgreSQL server of the scaling section, where worker processes share one ledger as
 * workers on many machines would: WAYMARK_BENCH_PG_URL, else WAYMARK_TEST_PG_URL (the ledger
 * tests' server, which CI sets), else the project's local server, started by scripts/postgres.sh.
 * Each use gets a schema of its own, dropped after it, so no batch reads or indexes another's rows.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { maskPassword } from '../src/postgres/url';
import { log } from './log';

const WHAT_TO_DO =
  'set WAYMARK_BENCH_PG_URL=postgres://USER:PASSWORD@HOST:PORT/DATABASE to a server where the bench may create schemas, ' +
  'or make `scripts/postgres.sh start` work (it installs Debian\'s postgresql with apt-get, as root or through sudo, and starts it on 127.0.0.1:55432)';

/** The URL of a server to measure on; throws, saying what to do, when there is none. */
export async function benchPostgresUrl(root: string): Promise<string> {
  const given = process.env.WAYMARK_BENCH_PG_URL || process.env.WAYMARK_TEST_PG_URL;
  if (given) return given;
  log('no WAYMARK_BENCH_PG_URL or WAYMARK_TEST_PG_URL: scripts/postgres.sh start');
  const script = path.join(root, 'scripts', 'postgres.sh');
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    // Its progress and errors (stderr) go to the bench's stderr as they come: an install takes minutes.
    const child = spawn(script, ['start'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, stdout: out }));
  }).catch((err: Error) => {
    throw new Error(`the scaling section needs a PostgreSQL server and ${script} could not run (${err.message}); ${WHAT_TO_DO}`);
  });
  const url = /^export WAYMARK_TEST_PG_URL=(\S+)$/m.exec(stdout)?.[1];
  if (code !== 0 || !url) {
    const what = code !== 0 ? `failed (exit ${code}, its messages above)` : `printed no export line (its output: ${JSON.stringify(stdout.trim())})`;
    throw new Error(`the scaling section needs a PostgreSQL server and \`scripts/postgres.sh start\` ${what}; ${WHAT_TO_DO}`);
  }
  log(`PostgreSQL at ${maskPassword(url)} (left running; \`scripts/postgres.sh stop\` stops it)`);
  return url;
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
      return new BenchPostgres(url, admin, `PostgreSQL ${rows[0].version.split(' ')[0]} (synchronous_commit=${rows[0].sync}) on ${new URL(url).host}`);
    } catch (err) {
      await admin.end();
      throw new Error(
        `cannot reach the bench's PostgreSQL at ${maskPassword(url)} (${(err as Error).message}); start that server or fix the URL ` +
          '(WAYMARK_BENCH_PG_URL, else WAYMARK_TEST_PG_URL; with neither set, the bench starts a local server with scripts/postgres.sh)',
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
