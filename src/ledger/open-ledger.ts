import fs from 'node:fs';
import type { Ledger } from './ledger';
import { SqliteLedger } from './sqlite-ledger';
import { PostgresLedger } from './postgres-ledger';
import { LedgerUnavailableError } from './ledger-unavailable-error';
import { maskUrl } from '../mask-secrets';
import { ledgerFile } from '../settings';

/**
 * The ledger this process should use: PostgreSQL when WAYMARK_LEDGER_URL is a postgres:// or
 * postgresql:// URL (many workers on many machines), else the embedded SQLite file in the data dir.
 * A PostgreSQL ledger connects, and creates or migrates its schema, on its first call.
 */
export function openLedger(dir?: string): Ledger {
  const url = process.env.WAYMARK_LEDGER_URL;
  if (!url) return new SqliteLedger(ledgerFile(dir));
  if (/^postgres(ql)?:\/\//i.test(url)) return new PostgresLedger(url);
  // A typo must not quietly put the outcomes in a local file that other workers never see.
  throw new LedgerUnavailableError(
    `WAYMARK_LEDGER_URL=${maskUrl(url)} is not a postgres:// or postgresql:// URL; fix it, or unset it to use the SQLite ledger in the data dir`,
  );
}

/**
 * The ledger as a read-only command (status, failures, export, redrive) wants it: never one made
 * up on the spot. Undefined when the SQLite file does not exist; a PostgreSQL ledger is opened as configured.
 */
export function existingLedger(dir?: string): Ledger | undefined {
  if (process.env.WAYMARK_LEDGER_URL) return openLedger(dir);
  return fs.existsSync(ledgerFile(dir)) ? new SqliteLedger(ledgerFile(dir)) : undefined;
}

/** Where the ledger of this process is, for people: the SQLite file, or the PostgreSQL URL without its password. */
export function describeLedger(dir?: string): string {
  const url = process.env.WAYMARK_LEDGER_URL;
  return url ? `PostgreSQL ledger ${maskUrl(url)}` : `ledger ${ledgerFile(dir)}`;
}
