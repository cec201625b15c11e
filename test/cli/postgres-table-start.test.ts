/**
 * `waymark start` over a PostgreSQL table, as a user on a cluster runs it: the table named as the
 * input with its key column, or a --spec file; the worker holds the database URL in its
 * environment, the starting shell does not. Needs WAYMARK_TEST_PG_URL (`eval "$(scripts/postgres.sh
 * start)"`); skipped without it, failed without it under CI=true.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ROWS = 250;
const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

describeWithPostgres('waymark start over a PostgreSQL table', () => {
  let env: TestWorkflowEnvironment;
  let db: PostgresTestDb;
  let table: Pool;
  let worker: WorkerProcess;
  let dir: string;
  let cliEnv: Record<string, string>;
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv });
  const results = (out: string) =>
    fs
      .readFileSync(path.join(out, 'results.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-table-');
    env = await createDevServerEnv();
    db = new PostgresTestDb(TEST_PG_URL!);
    const sourceUrl = await db.freshSchema();
    table = new Pool({ connectionString: sourceUrl, max: 1 });
    await table.query('CREATE TABLE orders (id integer PRIMARY KEY, email text NOT NULL, total numeric NOT NULL)');
    await table.query(`INSERT INTO orders SELECT 3 * i, 'user' || i || '@example.com', i * 1.5 FROM generate_series(0, $1::int - 1) i`, [
      ROWS,
    ]);
    // The CLI never sees the database URL: only the worker has it, under the name the spec gives.
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: `cli-table-${process.pid}` };
    worker = await startWorkerProcess({ ...cliEnv, SHOP_DB_URL: sourceUrl });
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await table?.end();
    await db?.close();
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('start TABLE --source-kind postgres-table --key-column runs every row once, in key order, with the chosen columns', async () => {
    const run = await waymark(
      'start',
      'orders',
      '--source-kind',
      'postgres-table',
      '--key-column',
      'id',
      '--columns',
      'id,email',
      '--url-env',
      'SHOP_DB_URL',
      '--processor',
      'sha256',
      '--slice',
      '20',
      '--checkpoint-every',
      '100',
      '--batch-id',
      'orders-1',
      '--wait',
    );
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toMatch(
      /^batch orders-1 completed: 250 items \(succeeded 250, failed 0\) in .*, 3 workflow run\(s\), redone 0 /,
    );

    const out = path.join(dir, 'export-orders-1');
    expect(await waymark('export', 'orders-1', '--out', out)).toMatchObject({ code: 0, stderr: '' });
    expect(results(out)).toEqual(
      Array.from({ length: ROWS }, (_, i) => ({ index: i, result: sha256(JSON.stringify({ id: 3 * i, email: `user${i}@example.com` })) })),
    );
  });

  it('start --spec takes a postgres-table source without looking for the table on disk', async () => {
    fs.writeFileSync(
      path.join(dir, 'orders.json'),
      JSON.stringify({
        source: { kind: 'postgres-table', path: 'orders', keyColumn: 'id', urlEnv: 'SHOP_DB_URL' },
        processor: { name: 'noop' },
        sliceSize: 50,
        checkpointEvery: 100,
      }),
    );
    const run = await waymark('start', '--spec', 'orders.json', '--batch-id', 'orders-2', '--wait');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toMatch(/^batch orders-2 completed: 250 items \(succeeded 250, failed 0\)/);
  });

  it('a worker without the URL variable fails the batch with a message naming it', async () => {
    const run = await waymark(
      'start',
      'orders',
      '--source-kind',
      'postgres-table',
      '--key-column',
      'id',
      '--url-env',
      'NOT_SET_ANYWHERE',
      '--processor',
      'noop',
      '--batch-id',
      'orders-3',
      '--wait',
    );
    // Exit 4: the batch failed.
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('NOT_SET_ANYWHERE (source.urlEnv), which is not set on this worker; set NOT_SET_ANYWHERE=postgres://');
  });
});
