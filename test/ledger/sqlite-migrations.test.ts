import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { LedgerUnavailableError } from '../../src/ledger/ledger-unavailable-error';

/** Every table's definition (columns in order, WITHOUT ROWID or not) and its rows, for comparing files. */
function describeFile(file: string): Record<string, { columns: unknown[]; withoutRowid: boolean; rows: unknown[] }> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
      sql: string;
    }[];
    return Object.fromEntries(
      tables.map(({ name, sql }) => [
        name,
        {
          columns: db.prepare(`PRAGMA table_info(${name})`).all(),
          withoutRowid: /WITHOUT ROWID/i.test(sql),
          rows: db.prepare(`SELECT * FROM ${name} ORDER BY 1, ${name === 'ledger_schema_version' ? 1 : 2}`).all(),
        },
      ]),
    );
  } finally {
    db.close();
  }
}

// Unversioned files as earlier waymarks left them.
const FIRST_SCHEMA = `
  CREATE TABLE items (batch_id TEXT NOT NULL, idx INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    result TEXT, error_type TEXT, error_message TEXT, attempts INTEGER NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,
    PRIMARY KEY (batch_id, idx)) WITHOUT ROWID;
  CREATE TABLE interruptions (batch_id TEXT NOT NULL, idx INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (batch_id, idx)) WITHOUT ROWID;
  CREATE TABLE batches (batch_id TEXT PRIMARY KEY, spec TEXT NOT NULL, manifest TEXT);
  INSERT INTO items VALUES ('b', 0, 'succeeded', '"r0"', NULL, NULL, 1, 10, 11), ('b', 1, 'failed', NULL, 'parse', 'bad', 2, 12, 13);
  INSERT INTO interruptions VALUES ('b', 1, 2);
  INSERT INTO batches VALUES ('b', '{"sliceSize":10}', NULL);
`;
const STATES: Record<string, string> = {
  'the first schema (no slice owner, no cut-short mark, no redo count, no suspect lease)': `${FIRST_SCHEMA}
    CREATE TABLE slice_progress (batch_id TEXT NOT NULL, slice_start INTEGER NOT NULL, in_flight INTEGER, PRIMARY KEY (batch_id, slice_start)) WITHOUT ROWID;
    INSERT INTO slice_progress VALUES ('b', 0, 2);`,
  'slice owners but no cut-short mark or redo count': `${FIRST_SCHEMA}
    CREATE TABLE slice_progress (batch_id TEXT NOT NULL, slice_start INTEGER NOT NULL, in_flight INTEGER, owner TEXT, PRIMARY KEY (batch_id, slice_start)) WITHOUT ROWID;
    CREATE TABLE suspect_lease (batch_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
    INSERT INTO slice_progress VALUES ('b', 0, 2, 'attempt-1');
    INSERT INTO suspect_lease VALUES ('b', 'attempt-1', 99);`,
  'an old file release 0.1 opened (columns added at the end)': `${FIRST_SCHEMA}
    CREATE TABLE slice_progress (batch_id TEXT NOT NULL, slice_start INTEGER NOT NULL, in_flight INTEGER, PRIMARY KEY (batch_id, slice_start)) WITHOUT ROWID;
    INSERT INTO slice_progress VALUES ('b', 0, 2);
    ALTER TABLE slice_progress ADD COLUMN owner TEXT;
    ALTER TABLE slice_progress ADD COLUMN cut_short INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE interruptions ADD COLUMN redos INTEGER NOT NULL DEFAULT 0;
    UPDATE slice_progress SET owner = 'attempt-1', cut_short = 1;
    UPDATE interruptions SET redos = 3;`,
};

describe('SqliteLedger migrations', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-migrations-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const freshFile = async (): Promise<string> => {
    const file = path.join(dir, 'fresh.sqlite');
    await new SqliteLedger(file).close();
    return file;
  };

  it('records each version it applies, once', async () => {
    const file = await freshFile();
    await new SqliteLedger(file).close();
    expect(describeFile(file).ledger_schema_version.rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }]);
  });

  for (const [state, sql] of Object.entries(STATES)) {
    it(`brings an unversioned file with ${state} to the current schema and keeps every row`, async () => {
      const file = path.join(dir, 'old.sqlite');
      const old = new Database(file);
      old.exec(sql);
      const before = describeFile(file);
      old.close();
      await new SqliteLedger(file).close();

      const after = describeFile(file);
      const fresh = describeFile(await freshFile());
      for (const [table, want] of Object.entries(fresh)) {
        expect({ table, columns: after[table].columns, withoutRowid: after[table].withoutRowid }).toEqual({
          table,
          columns: want.columns,
          withoutRowid: want.withoutRowid,
        });
      }
      expect(Object.keys(after).sort()).toEqual(Object.keys(fresh).sort());
      for (const [table, { rows }] of Object.entries(before)) {
        // Each old row is there, with what it had; a column it lacked has its default.
        expect(after[table].rows).toHaveLength(rows.length);
        rows.forEach((row, i) => expect(after[table].rows[i]).toMatchObject(row as object));
      }
      // A column a table lacked has its default in every row: no owner, not cut short, no redos.
      for (const [table, { columns }] of Object.entries(before)) {
        const had = new Set((columns as { name: string }[]).map((c) => c.name));
        for (const column of fresh[table].columns as { name: string; dflt_value: string | null }[]) {
          if (had.has(column.name)) continue;
          const fallback = column.dflt_value === null ? null : Number(column.dflt_value);
          expect(after[table].rows.map((row) => (row as Record<string, unknown>)[column.name])).toEqual(
            before[table].rows.map(() => fallback),
          );
        }
      }
    });
  }

  it('refuses a file from a newer waymark, and leaves it as it is', async () => {
    const file = await freshFile();
    const db = new Database(file);
    db.exec('INSERT INTO ledger_schema_version (version) VALUES (99)');
    db.close();
    expect(() => new SqliteLedger(file)).toThrow(LedgerUnavailableError);
    expect(() => new SqliteLedger(file)).toThrow(/schema version 99, newer than this waymark knows \(4\); upgrade waymark/);
    expect(describeFile(file).ledger_schema_version.rows).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
      { version: 99 },
    ]);
  });
});
