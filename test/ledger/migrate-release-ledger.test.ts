/**
 * Ledgers written by release 0.1 (test/fixtures/ledger-release-0.1, see its README.md) open in place
 * with this waymark, keep every row and read back what release 0.1 read from them; new commits work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { Ledger } from '../../src/ledger/ledger';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { allOutcomes } from '../helpers/ledger-rows';
import { ok } from './ledger-contract';
import { describeWithPostgres, TEST_PG_URL } from './postgres-test-db';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'ledger-release-0.1');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
const TABLES = ['items', 'slice_progress', 'interruptions', 'suspect_lease', 'batches'] as const;

/** Rows as expected.json holds them: cut_short as 0/1, the suspect lease without its clock-based expiry. */
const RAW_ROWS: Record<string, string> = {
  slice_progress: 'SELECT batch_id, slice_start, in_flight, CAST(cut_short AS INTEGER) AS cut_short, owner FROM slice_progress',
  interruptions: 'SELECT batch_id, idx, count, redos FROM interruptions',
  suspect_lease: 'SELECT batch_id, owner FROM suspect_lease',
};

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

const byKey = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** What expected.json holds for one slice and one batch (the rest of it is compared as read). */
interface ExpectedSlice {
  inFlight: number | null;
  tally: unknown;
}
interface ExpectedBatch {
  outcomes: unknown;
  totals: unknown;
  batch: unknown;
  interruptedIndexes: unknown;
  slices: Record<string, ExpectedSlice>;
}

/** Everything expected.json says, read through the public API and, for row counts and raw rows, through `query`. */
async function expectReleaseContents(ledger: Ledger, query: Query): Promise<void> {
  for (const [batchId, want] of Object.entries<ExpectedBatch>(expected.batches)) {
    expect(await allOutcomes(ledger, batchId)).toEqual(want.outcomes);
    expect(await ledger.totals(batchId)).toEqual(want.totals);
    expect(await ledger.batch(batchId)).toEqual(want.batch);
    expect(await ledger.interruptedIndexes(batchId, 0, 1000)).toEqual(want.interruptedIndexes);
    for (const [start, slice] of Object.entries<ExpectedSlice>(want.slices)) {
      const sliceStart = Number(start);
      expect(await ledger.inFlight(batchId, sliceStart)).toBe(slice.inFlight);
      expect(await ledger.tally(batchId, sliceStart, sliceStart + 10)).toEqual(slice.tally);
    }
  }
  for (const table of TABLES) {
    const [{ n }] = await query(`SELECT count(*) AS n FROM ${table}`);
    expect({ table, rows: Number(n) }).toEqual({ table, rows: expected.rowCounts[table] });
  }
  for (const [table, sql] of Object.entries(RAW_ROWS)) {
    const rows = (await query(sql)).map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])),
    );
    expect(byKey(rows)).toEqual(byKey(expected.rawRows[table]));
  }
}

/** The migrated ledger takes new work: a claim sees the cut-short item, a commit lands once. */
async function expectNewCommitsWork(ledger: Ledger): Promise<void> {
  const before = await ledger.totals('fixture-batch');
  expect(await ledger.claimSlice('fixture-batch', 30, 'after-migration/1')).toEqual({ index: 35, cause: 'cut-short' });
  expect(await ledger.claimSlice('fixture-batch', 40, 'after-migration/2')).toBeNull();
  await ledger.commit('fixture-batch', 40, [ok(40, 'new'), ok(41, 'new')], 42, 'after-migration/2');
  // Index 0 was committed by release 0.1: it keeps its first outcome (I3).
  await ledger.commit('fixture-batch', 0, [ok(0, 'again')], null);
  expect(await ledger.committedIndexes('fixture-batch', 38, 50)).toEqual([38, 39, 40, 41]);
  expect(await ledger.inFlight('fixture-batch', 40)).toBe(42);
  expect((await allOutcomes(ledger, 'fixture-batch'))[0]).toEqual(expected.batches['fixture-batch'].outcomes[0]);
  expect(await ledger.totals('fixture-batch')).toEqual({ ...before, succeeded: before.succeeded + 2 });
  expect(await ledger.recordInterruption('fixture-batch', 35, 'cut-short')).toBe(0);
}

describe('SqliteLedger on a release 0.1 file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-release-ledger-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens it in place, keeps every row, reads back what release 0.1 read and takes new commits', async () => {
    const file = path.join(dir, 'ledger.sqlite');
    fs.copyFileSync(path.join(FIXTURES, 'ledger.sqlite'), file);
    const ledger = new SqliteLedger(file);
    const raw = new Database(file, { readonly: true });
    try {
      await expectReleaseContents(ledger, async (sql) => raw.prepare(sql).all() as Record<string, unknown>[]);
      expect(raw.prepare('SELECT version FROM ledger_schema_version').all()).toEqual([
        { version: 1 },
        { version: 2 },
        { version: 3 },
        { version: 4 },
      ]);
      await expectNewCommitsWork(ledger);
    } finally {
      raw.close();
      await ledger.close();
    }
    // Opened again, the file is at the last version already: nothing is applied twice.
    const again = new SqliteLedger(file);
    await again.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT version FROM ledger_schema_version').all()).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
    ]);
    check.close();
  });
});

describeWithPostgres('PostgresLedger on a release 0.1 database', () => {
  const database = `waymark_release_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let url: string;
  beforeAll(async () => {
    admin = new Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const u = new URL(TEST_PG_URL!);
    u.pathname = `/${database}`;
    url = u.toString();
    const loader = new Client({ connectionString: url });
    await loader.connect();
    try {
      await loadPlainDump(loader, fs.readFileSync(path.join(FIXTURES, 'ledger.postgres.sql'), 'utf8'));
    } finally {
      await loader.end();
    }
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('opens the loaded dump, keeps every row, reads back what release 0.1 read and takes new commits', async () => {
    const ledger = await PostgresLedger.connect(url);
    const raw = new Client({ connectionString: url });
    await raw.connect();
    try {
      await expectReleaseContents(ledger, async (sql) => (await raw.query(sql)).rows);
      expect((await raw.query('SELECT version FROM ledger_schema_version ORDER BY version')).rows).toEqual([
        { version: 1 },
        { version: 2 },
        { version: 3 },
        { version: 4 },
        { version: 5 },
      ]);
      await expectNewCommitsWork(ledger);
    } finally {
      await raw.end();
      await ledger.close();
    }
  });
});

/**
 * Runs a plain pg_dump script through `client`. psql before 15.14 rejects the `\restrict` and
 * `\unrestrict` lines of newer dumps, and a query cannot carry COPY ... FROM stdin data: the SQL
 * goes as it is, the meta-commands are dropped, and each COPY block's rows become INSERTs.
 */
async function loadPlainDump(client: Client, dump: string): Promise<void> {
  const lines = dump.split('\n').filter((line) => !/^\\(un)?restrict /.test(line));
  let sql: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const copy = /^COPY (\S+) \(([^)]*)\) FROM stdin;$/.exec(lines[i]);
    if (!copy) {
      sql.push(lines[i]);
      continue;
    }
    await client.query(sql.join('\n'));
    sql = [];
    const [, table, columns] = copy;
    const placeholders = columns
      .split(',')
      .map((_, c) => `$${c + 1}`)
      .join(', ');
    for (i++; lines[i] !== '\\.'; i++) {
      await client.query(`INSERT INTO ${table} (${columns}) VALUES (${placeholders})`, lines[i].split('\t').map(copyTextValue));
    }
  }
  await client.query(sql.join('\n'));
}

/** One field of COPY's text format: \N is NULL; backslash escapes stand for the character they name. */
function copyTextValue(field: string): string | null {
  if (field === '\\N') return null;
  const named: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, escape: string) => {
    if (escape[0] === 'x' && escape.length > 1) return String.fromCharCode(parseInt(escape.slice(1), 16));
    if (/^[0-7]/.test(escape)) return String.fromCharCode(parseInt(escape, 8));
    return named[escape] ?? escape;
  });
}
