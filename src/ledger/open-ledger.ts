import type { Ledger } from './ledger';
import { SqliteLedger } from './sqlite-ledger';
import { ledgerFile } from '../settings';

/** The ledger this process should use: the embedded SQLite file in the data dir. */
export function openLedger(dir?: string): Ledger {
  return new SqliteLedger(ledgerFile(dir));
}
