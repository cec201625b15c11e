/**
 * The postgres-table source against a real server (WAYMARK_TEST_PG_URL, one fresh schema per
 * test): rank in key order as the index, key ranges as slice bounds, rows as items, and the
 * mistakes a spec or a table can hold, each refused with what to fix.
 */
import type { Pool } from 'pg';
import { openSource } from '../../src/sources/open-source';
import { closeTableSourcePools, DEFAULT_SOURCE_URL_ENV } from '../../src/sources/postgres-table-source';
import { SourceUnavailableError, type Source } from '../../src/sources/source';
import { parseBatchSpec, type BatchSpecInput, type SourceSpec } from '../../src/contract/batch-spec';
import { rejectionOf } from '../helpers/rejection';
import { planForLanes } from '../../src/activities/plan-window';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { planAndReadAll, readAll, values } from './helpers';

const ctx = { dataDir: '/nonexistent', batchId: 'table-test' };
const URL_ENV = 'WAYMARK_TABLE_TEST_URL';

function specWith(source: Record<string, unknown>): BatchSpecInput {
  return { source: source as BatchSpecInput['source'], processor: { name: 'noop' } };
}

function specError(source: Record<string, unknown>): string {
  try {
    parseBatchSpec(specWith(source));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`spec with source ${JSON.stringify(source)} was accepted`);
}

function openError(spec: SourceSpec): Error {
  try {
    openSource(spec, ctx);
  } catch (err) {
    return err as Error;
  }
  throw new Error('openSource did not throw');
}

describe('a postgres-table source spec', () => {
  it('takes the table in path, the key column, optional columns and the name of the URL variable', () => {
    const spec = parseBatchSpec(
      specWith({ kind: 'postgres-table', path: 'shop.orders', keyColumn: 'id', columns: ['id', 'total'], urlEnv: 'ORDERS_DB_URL' }),
    );
    expect(spec.source).toEqual({
      kind: 'postgres-table',
      path: 'shop.orders',
      keyColumn: 'id',
      columns: ['id', 'total'],
      urlEnv: 'ORDERS_DB_URL',
    });
  });

  it('requires the key column', () => {
    expect(specError({ kind: 'postgres-table', path: 'orders' })).toBe(
      'invalid batch spec: source.keyColumn is required for a postgres-table source: name its integer key column (NOT NULL, unique), whose order is the item order',
    );
  });

  it('refuses a URL where the name of a variable belongs, so no password reaches workflow history', () => {
    const message = specError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', urlEnv: 'postgres://u:secret@db/x' });
    expect(message).toBe('invalid batch spec: source.urlEnv must be the name of an environment variable (letters, digits, _), not a URL');
  });

  it('refuses a url field: it is not a known field', () => {
    expect(specError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', url: 'postgres://u:secret@db/x' })).toMatch(
      /^invalid batch spec: source\.url is not a known field; remove it \(known fields: kind, path, keyColumn, columns, urlEnv\)$/,
    );
  });

  it('refuses fields of the other kind of source', () => {
    expect(specError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', maxItemBytes: 10 })).toBe(
      'invalid batch spec: source.maxItemBytes applies to file sources only; remove it',
    );
    expect(specError({ kind: 'jsonl', path: 'items.jsonl', keyColumn: 'id' })).toBe(
      'invalid batch spec: source.keyColumn applies to postgres-table sources only; remove it',
    );
  });

  it('refuses a table name that is neither table nor schema.table, and an empty column list', () => {
    expect(specError({ kind: 'postgres-table', path: 'a.b.c', keyColumn: 'id' })).toBe(
      'invalid batch spec: source.path ("a.b.c") must name the table as table or schema.table for a postgres-table source',
    );
    expect(specError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', columns: [] })).toBe(
      'invalid batch spec: source.columns must name at least one column (leave it out for all columns)',
    );
  });
});

describe('opening a postgres-table source', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('names the variable that is missing on the worker and what to put in it', () => {
    delete process.env[DEFAULT_SOURCE_URL_ENV];
    const err = openError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id' });
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toBe(
      'the postgres-table source reads its database URL from WAYMARK_SOURCE_URL, which is not set on this worker; ' +
        'set WAYMARK_SOURCE_URL=postgres://USER:PASSWORD@HOST:PORT/DATABASE in the environment of every worker ' +
        '(the spec names the variable, not the URL, so the password stays out of workflow history)',
    );
    delete process.env.ORDERS_DB_URL;
    expect(openError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', urlEnv: 'ORDERS_DB_URL' }).message).toMatch(
      /^the postgres-table source reads its database URL from ORDERS_DB_URL \(source\.urlEnv\), which is not set on this worker; set ORDERS_DB_URL=postgres:/,
    );
  });

  it('refuses a variable that holds something else than a postgres:// URL, without showing its password', () => {
    process.env[URL_ENV] = 'mysql://u:s3cret@db/x';
    const err = openError({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', urlEnv: URL_ENV });
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toContain(`${URL_ENV}=mysql://u:***@db/x is not a postgres:// or postgresql:// URL`);
    expect(err.message).not.toContain('s3cret');
  });

  it('leaves a server that does not answer retryable, and hides the password', async () => {
    process.env[URL_ENV] = 'postgres://u:s3cret@127.0.0.1:1/x';
    const source = openSource({ kind: 'postgres-table', path: 'orders', keyColumn: 'id', urlEnv: URL_ENV }, ctx);
    const err = await rejectionOf(source.countItems());
    expect(err).not.toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toMatch(/^cannot reach the source database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: /);
    await closeTableSourcePools();
  });
});

describeWithPostgres('the postgres-table source', () => {
  let db: PostgresTestDb;
  let sql: Pool;
  const saved = process.env[URL_ENV];

  beforeAll(() => {
    db = new PostgresTestDb(TEST_PG_URL!);
  });
  beforeEach(async () => {
    const url = await db.freshSchema();
    process.env[URL_ENV] = url;
    const { Pool } = await import('pg');
    sql = new Pool({ connectionString: url, max: 1 });
  });
  afterEach(async () => {
    await sql.end();
    await closeTableSourcePools();
    await db.dropSchemas();
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env[URL_ENV];
    else process.env[URL_ENV] = saved;
    await db.close();
  });

  const table = (extra: Partial<SourceSpec> = {}): Source =>
    openSource({ kind: 'postgres-table', path: 'items', keyColumn: 'id', urlEnv: URL_ENV, ...extra }, ctx);

  /** `n` rows with keys that have gaps and start below zero: key = 3 i - 1000. */
  async function makeItems(n: number): Promise<{ id: number; name: string; tags: string[] }[]> {
    await sql.query('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, tags jsonb NOT NULL)');
    // Inserted in reverse: the item order is the key order, not the physical one.
    await sql.query(
      `INSERT INTO items SELECT 3 * i - 1000, 'row ' || i, jsonb_build_array('t' || i % 3) FROM generate_series($1::int - 1, 0, -1) i`,
      [n],
    );
    return Array.from({ length: n }, (_, i) => ({ id: 3 * i - 1000, name: `row ${i}`, tags: [`t${i % 3}`] }));
  }

  it('reads every row once, as an object, in key order, window after window', async () => {
    const rows = await makeItems(2503);
    const source = table();
    expect(await source.countItems()).toBe(2503);
    const { items, plans } = await planAndReadAll(source, 1000, 100);
    expect(values(items)).toEqual(rows);
    expect(items.map((item) => item.index)).toEqual(rows.map((_, i) => i));
    expect(plans.map((p) => p.slices.length)).toEqual([10, 10, 6]);
    expect(plans[2].exhausted).toBe(true);
  });

  it("bounds each slice by keys: its first key, and the next slice's first key (or the last key + 1)", async () => {
    const rows = await makeItems(25);
    const plan = await table().planWindow({ index: 0, offset: 0 }, 20, 8);
    expect(plan.slices).toEqual([
      { start: 0, count: 8, startOffset: rows[0].id, endOffset: rows[8].id },
      { start: 8, count: 8, startOffset: rows[8].id, endOffset: rows[16].id },
      { start: 16, count: 4, startOffset: rows[16].id, endOffset: rows[19].id + 1 },
    ]);
    expect(plan.next).toEqual({ index: 20, offset: rows[19].id + 1 });
    expect(plan.exhausted).toBe(false);
    // The next window starts at its offset, a key: index 20 is the row of rank 20.
    const rest = await table().planWindow(plan.next, 20, 8);
    expect(rest.slices).toEqual([{ start: 20, count: 5, startOffset: rows[20].id, endOffset: rows[24].id + 1 }]);
    expect(rest.exhausted).toBe(true);
    expect(values(await readAll(table(), rest.slices[0]))).toEqual(rows.slice(20));
  });

  it('cuts a window for the lanes with a list of slice sizes, as the file sources do', async () => {
    const rows = await makeItems(25);
    const source = table();
    const spec = parseBatchSpec({ ...specWith({ kind: 'postgres-table', path: 'items', keyColumn: 'id' }), concurrency: 4 });
    const plan = await planForLanes(source, { ...spec, sliceSize: 1000 }, { index: 0, offset: 0 }, 20);
    expect(plan.slices).toEqual([
      { start: 0, count: 5, startOffset: rows[0].id, endOffset: rows[5].id },
      { start: 5, count: 5, startOffset: rows[5].id, endOffset: rows[10].id },
      { start: 10, count: 5, startOffset: rows[10].id, endOffset: rows[15].id },
      { start: 15, count: 5, startOffset: rows[15].id, endOffset: rows[19].id + 1 },
    ]);
    expect(plan.next).toEqual({ index: 20, offset: rows[19].id + 1 });
    expect(plan.exhausted).toBe(false);
  });

  it('knows a window that ends exactly at the last row is the last one', async () => {
    await makeItems(16);
    const plan = await table().planWindow({ index: 0, offset: 0 }, 16, 8);
    expect(plan.slices.map((s) => s.count)).toEqual([8, 8]);
    expect(plan.exhausted).toBe(true);
  });

  it('plans nothing from an empty table', async () => {
    await makeItems(0);
    expect(await table().countItems()).toBe(0);
    expect(await table().planWindow({ index: 0, offset: 0 }, 100, 10)).toEqual({
      slices: [],
      next: { index: 0, offset: 0 },
      exhausted: true,
    });
  });

  it('reads a slice larger than one page of rows', async () => {
    const rows = await makeItems(2600);
    const [slice] = (await table().planWindow({ index: 0, offset: 0 }, 2600, 2600)).slices;
    expect(values(await readAll(table(), slice))).toEqual(rows);
  });

  it('gives only the chosen columns, and takes a schema-qualified table', async () => {
    const rows = await makeItems(5);
    const schema = (await sql.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s;
    const source = table({ path: `${schema}.items`, columns: ['name'] });
    const [slice] = (await source.planWindow({ index: 0, offset: 0 }, 10, 10)).slices;
    expect(values(await readAll(source, slice))).toEqual(rows.map((r) => ({ name: r.name })));
  });

  it('renders values as PostgreSQL renders them in JSON', async () => {
    await sql.query(`CREATE TABLE items (id integer PRIMARY KEY, amount numeric, at timestamptz, note text, data json)`);
    await sql.query(`INSERT INTO items VALUES (1, 12.50, '2026-01-31T02:00:00Z', NULL, '{"a": [1, 2]}')`);
    const source = table();
    const [slice] = (await source.planWindow({ index: 0, offset: 0 }, 10, 10)).slices;
    const [item] = await readAll(source, slice);
    expect(item.value).toEqual({ id: 1, amount: 12.5, at: expect.any(String), note: null, data: { a: [1, 2] } });
    // In the session's time zone, with its offset: the same instant wherever the worker runs.
    expect(new Date((item.value as { at: string }).at).toISOString()).toBe('2026-01-31T02:00:00.000Z');
  });

  it('fails a slice whose key range gained or lost rows since it was planned, and takes rows appended above it in the next window', async () => {
    const rows = await makeItems(30);
    const plan = await table().planWindow({ index: 0, offset: 0 }, 20, 10);
    await sql.query('INSERT INTO items VALUES ($1, $2, $3)', [rows[3].id + 1, 'intruder', '[]']);
    const err = await rejectionOf(readAll(table(), plan.slices[0]));
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toBe(
      `source table items changed since its window was planned: items 0-9 were planned as the 10 rows with id in [${rows[0].id}, ${rows[10].id}), ` +
        'but the range now holds more rows; the table must not change within planned key ranges while its batch runs ' +
        '(append rows only above every planned key): restore the rows, or start a new batch',
    );
    await sql.query('DELETE FROM items WHERE id IN ($1, $2)', [rows[3].id + 1, rows[12].id]);
    expect((await rejectionOf(readAll(table(), plan.slices[1]))).message).toContain('but the range now holds 9 rows');

    await sql.query('INSERT INTO items VALUES ($1, $2, $3)', [rows[12].id, rows[12].name, JSON.stringify(rows[12].tags)]);
    await sql.query('INSERT INTO items VALUES (100000, $1, $2)', ['appended', '[]']);
    const rest = await table().planWindow(plan.next, 20, 10);
    const appended = await Promise.all(rest.slices.map((s) => readAll(table(), s)));
    expect(values(appended.flat())).toEqual([...rows.slice(20), { id: 100000, name: 'appended', tags: [] }]);
    expect(appended.flat().map((item) => item.index)).toEqual(Array.from({ length: 11 }, (_, i) => 20 + i));
  });

  it('refuses a missing table or key column, naming it', async () => {
    const missing = await rejectionOf(table().countItems());
    expect(missing).toBeInstanceOf(SourceUnavailableError);
    expect(missing.message).toMatch(
      /^source table items not found in postgres:\/\/waymark:\*\*\*@.* \(check source\.path: table or schema\.table, case-sensitive as written/,
    );
    await makeItems(3);
    const noKey = await rejectionOf(table({ keyColumn: 'ID' }).planWindow({ index: 0, offset: 0 }, 10, 10));
    expect(noKey.message).toBe(
      'source.keyColumn "ID" of table items does not exist (check source.keyColumn; names are case-sensitive as written)',
    );
  });

  it('refuses a key that is not an integer, or not NOT NULL and unique', async () => {
    await sql.query('CREATE TABLE items (id bigint PRIMARY KEY, name text, seq integer, code integer UNIQUE, n integer NOT NULL)');
    expect((await rejectionOf(table({ keyColumn: 'name' }).countItems())).message).toBe(
      'source.keyColumn "name" of table items is text; the key must be an integer column (smallint, integer or bigint) whose order is the item order',
    );
    expect((await rejectionOf(table({ keyColumn: 'seq' }).countItems())).message).toBe(
      'source.keyColumn "seq" of table items must be NOT NULL and unique (a primary key, or a unique index on that column alone), so each key names one item; it is nullable and without a unique index',
    );
    expect((await rejectionOf(table({ keyColumn: 'code' }).countItems())).message).toMatch(/it is nullable$/);
    expect((await rejectionOf(table({ keyColumn: 'n' }).countItems())).message).toMatch(/it is without a unique index$/);
  });

  it('fails a read of a column that does not exist, as a mistake no retry fixes', async () => {
    await makeItems(3);
    const source = table({ columns: ['name', 'colour'] });
    const [slice] = (await source.planWindow({ index: 0, offset: 0 }, 10, 10)).slices;
    const err = await rejectionOf(readAll(source, slice));
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toMatch(/^source table items: column t\.colour does not exist \(check source\.columns and source\.keyColumn/);
  });

  it('refuses keys beyond what a slice bound can carry', async () => {
    await sql.query('CREATE TABLE items (id bigint PRIMARY KEY)');
    await sql.query('INSERT INTO items VALUES (1), (9007199254740993)');
    const err = await rejectionOf(table().planWindow({ index: 0, offset: 0 }, 10, 1));
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toContain('has key 9007199254740993, beyond ±2^53');
  });
});
