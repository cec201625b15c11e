import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLedger } from '../../src/ledger/open-ledger';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { LedgerUnavailableError } from '../../src/ledger/ledger-unavailable-error';

describe('openLedger', () => {
  const saved = process.env.WAYMARK_LEDGER_URL;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-open-ledger-'));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.WAYMARK_LEDGER_URL;
    else process.env.WAYMARK_LEDGER_URL = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens the SQLite file in the data dir when WAYMARK_LEDGER_URL is not set', async () => {
    delete process.env.WAYMARK_LEDGER_URL;
    const ledger = openLedger(dir);
    expect(ledger).toBeInstanceOf(SqliteLedger);
    await ledger.close();
    expect(fs.existsSync(path.join(dir, 'ledger.sqlite'))).toBe(true);
  });

  it.each(['postgres://waymark:pw@127.0.0.1:5432/waymark', 'postgresql://db.internal/ledger?sslmode=require'])(
    'chooses PostgreSQL for %s, without touching the data dir',
    async (url) => {
      process.env.WAYMARK_LEDGER_URL = url;
      const ledger = openLedger(dir);
      expect(ledger).toBeInstanceOf(PostgresLedger);
      await ledger.close();
      expect(fs.readdirSync(dir)).toEqual([]);
    },
  );

  it('refuses any other URL instead of falling back to SQLite, without showing its password', () => {
    process.env.WAYMARK_LEDGER_URL = 'mysql://waymark:s3cret@db/ledger';
    expect(() => openLedger(dir)).toThrow(LedgerUnavailableError);
    expect(() => openLedger(dir)).toThrow('WAYMARK_LEDGER_URL=mysql://waymark:***@db/ledger is not a postgres:// or postgresql:// URL');
  });
});
