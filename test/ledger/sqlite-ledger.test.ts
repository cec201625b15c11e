import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { ledgerContract } from './ledger-contract';
import { rateLimitContract } from './rate-limit-contract';
import { lanePoolContract } from './lane-pool-contract';
import { providerJobsContract } from './provider-jobs-contract';

function newSqliteStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-ledger-'));
  return {
    open: async () => new SqliteLedger(path.join(dir, 'ledger.sqlite')),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

describe('SqliteLedger', () => {
  ledgerContract(async () => newSqliteStore());
  describe('named rate limits', () => {
    rateLimitContract(async () => newSqliteStore());
  });
  describe('lane pools', () => {
    lanePoolContract(async () => newSqliteStore());
  });
  describe('provider jobs', () => {
    providerJobsContract(async () => newSqliteStore());
  });
});

describe('SqliteLedger on a file written by an earlier waymark', () => {
  it('adds the columns it lacks and works on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-ledger-old-'));
    const file = path.join(dir, 'ledger.sqlite');
    const old = new Database(file);
    // The first released schema: no slice owner, no cut-short mark, no redo count.
    old.exec(`
      CREATE TABLE slice_progress (batch_id TEXT NOT NULL, slice_start INTEGER NOT NULL, in_flight INTEGER, PRIMARY KEY (batch_id, slice_start)) WITHOUT ROWID;
      CREATE TABLE interruptions (batch_id TEXT NOT NULL, idx INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (batch_id, idx)) WITHOUT ROWID;
      INSERT INTO slice_progress VALUES ('b', 0, 3);
    `);
    old.close();
    const ledger = new SqliteLedger(file);
    try {
      expect(await ledger.claimSlice('b', 0, 'attempt-2')).toEqual({ index: 3, cause: 'crash' });
      expect(await ledger.recordInterruption('b', 3, 'cut-short')).toBe(0);
      expect((await ledger.tally('b', 0, 10)).redone).toBe(1);
    } finally {
      await ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
