/**
 * The PostgreSQL server of the ledger tests: WAYMARK_TEST_PG_URL, which `scripts/postgres.sh start`
 * prints. Each test gets a schema of its own, so tests never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

export const TEST_PG_URL = process.env.WAYMARK_TEST_PG_URL || undefined;

/** In CI the PostgreSQL half of the suite must run: a missing server is a failure, not a skip. */
export const PG_REQUIRED = Boolean(process.env.CI) && process.env.CI !== 'false';

export const MISSING_PG_MESSAGE =
  'WAYMARK_TEST_PG_URL is not set, so the ledger suite cannot run against PostgreSQL; ' +
  'run `eval "$(scripts/postgres.sh start)"` (it starts a local server and prints the variable), then the tests again';

/**
 * `describe` when WAYMARK_TEST_PG_URL is set. Without it: in CI, one failing test naming the fix;
 * elsewhere, `describe.skip` saying why.
 */
export function describeWithPostgres(title: string, body: () => void): void {
  if (TEST_PG_URL) describe(title, body);
  else if (PG_REQUIRED) {
    describe(title, () => {
      it('runs against a PostgreSQL server in CI', () => {
        throw new Error(MISSING_PG_MESSAGE);
      });
    });
  } else describe.skip(`${title} (skipped: WAYMARK_TEST_PG_URL is not set; scripts/postgres.sh start prints it)`, body);
}

/** `url` with its connections' search_path set to `schema`. */
export function urlWithSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export class PostgresTestDb {
  private readonly admin: Pool;
  private readonly schemas: string[] = [];

  constructor(readonly url: string) {
    this.admin = new Pool({ connectionString: url, max: 2 });
  }

  /** A new, empty schema; returns the URL whose connections use it. */
  async freshSchema(): Promise<string> {
    const schema = `ledger_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await this.admin.query(`CREATE SCHEMA ${schema}`);
    this.schemas.push(schema);
    return urlWithSchema(this.url, schema);
  }

  async dropSchemas(): Promise<void> {
    for (const schema of this.schemas.splice(0)) await this.admin.query(`DROP SCHEMA ${schema} CASCADE`);
  }

  /** A plain connection to `url`, for a test that plays another session against the ledger. */
  static async client(url: string): Promise<Client> {
    const client = new Client({ connectionString: url });
    await client.connect();
    return client;
  }

  async close(): Promise<void> {
    await this.dropSchemas();
    await this.admin.end();
  }
}
