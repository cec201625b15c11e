/**
 * The ledger's write path taken apart, on the ledger's own schema (a SqliteLedger creates the
 * file, then plain better-sqlite3 writes to it): what each part of a commit costs, and what
 * SQLite settings would change. Rows and order are those of ledger-rate.ts: C lanes of S-item
 * slices, one transaction per k items.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteLedger } from '../src/ledger/sqlite-ledger';
import { inFlightRange, type OutcomeToCommit } from '../src/ledger/ledger';
import { commitRateOf, type LedgerShape, type LedgerWritePath } from './ledger-rate';
import type { Throughput } from './throughput';

export interface LedgerVariant {
  name: string;
  /** What the variant changes, for the report. */
  note: string;
  pragmas?: Record<string, string | number>;
  /** Per commit, after the inserts: 'update' = the in-flight mark guarded by owner (as SqliteLedger), 'select' = an owner check only, 'none'. */
  inFlight: 'update' | 'select' | 'none';
}

export const LEDGER_VARIANTS: LedgerVariant[] = [
  {
    name: 'a transaction per commit',
    note: 'insert + in-flight UPDATE ... WHERE owner = ?, each commit its own transaction (SqliteLedger before group commit); WAL, synchronous=NORMAL',
    inFlight: 'update',
  },
  {
    name: 'owner check, no in-flight write',
    note: 'as the row above, with SELECT owner (the fence without writing the slice_progress page)',
    inFlight: 'select',
  },
  { name: 'insert only', note: 'the outcome row alone, a transaction per commit', inFlight: 'none' },
  {
    name: 'wal_autocheckpoint=10000',
    note: 'a transaction per commit, checkpoints every 40 MB of WAL instead of 4 MB',
    inFlight: 'update',
    pragmas: { wal_autocheckpoint: 10000 },
  },
  {
    name: 'synchronous=FULL',
    note: 'a transaction per commit, fsync on every commit (survives a power cut)',
    inFlight: 'update',
    pragmas: { synchronous: 'FULL' },
  },
  {
    name: 'synchronous=OFF',
    note: 'a transaction per commit, no fsync even at checkpoints (unsafe; the floor)',
    inFlight: 'update',
    pragmas: { synchronous: 'OFF' },
  },
];

export async function ledgerVariantRate(dir: string, shape: LedgerShape, variant: LedgerVariant): Promise<Throughput> {
  const file = path.join(dir, `ledger-variant-${process.hrtime.bigint()}.sqlite`);
  await new SqliteLedger(file).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const [key, value] of Object.entries(variant.pragmas ?? {})) db.pragma(`${key} = ${value}`);
  const insert = db.prepare(
    `INSERT INTO items (batch_id, idx, status, result, error_type, error_message, attempts, started_at, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (batch_id, idx) DO NOTHING`,
  );
  const update = db.prepare('UPDATE slice_progress SET in_flight = ? WHERE batch_id = ? AND slice_start = ? AND owner = ?');
  const select = db.prepare('SELECT owner FROM slice_progress WHERE batch_id = ? AND slice_start = ?');
  const claim = db.prepare(
    `INSERT INTO slice_progress (batch_id, slice_start, in_flight, owner) VALUES (?, ?, NULL, ?)
     ON CONFLICT (batch_id, slice_start) DO UPDATE SET owner = excluded.owner, in_flight = NULL`,
  );
  const commitTx = db.transaction(
    (batchId: string, start: number, owner: string | undefined, outcomes: OutcomeToCommit[], next: number | null) => {
      for (const o of outcomes)
        insert.run(batchId, o.index, o.status, o.resultJson ?? null, null, null, o.attempts, o.startedAt, o.finishedAt);
      if (variant.inFlight === 'update') {
        if (update.run(next, batchId, start, owner).changes === 0) throw new Error('lease lost');
      } else if (variant.inFlight === 'select') {
        if ((select.get(batchId, start) as { owner: string } | undefined)?.owner !== owner) throw new Error('lease lost');
      }
    },
  );
  // The calls processSlice makes, each commit a transaction of its own.
  const writePath: LedgerWritePath = {
    async claimSlice(batchId, start, owner) {
      claim.run(batchId, start, owner);
      return null;
    },
    async markInFlight(batchId, start, inFlight, owner) {
      update.run(inFlightRange(inFlight)?.from ?? null, batchId, start, owner);
    },
    async commit(batchId, start, outcomes, inFlight, owner) {
      commitTx(batchId, start, owner, outcomes, inFlightRange(inFlight)?.from ?? null);
    },
  };
  try {
    return await commitRateOf(writePath, shape);
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  }
}
