import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { ledgerContract } from './ledger-contract';

describe('SqliteLedger', () => {
  ledgerContract(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-ledger-'));
    return {
      open: async () => new SqliteLedger(path.join(dir, 'ledger.sqlite')),
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  });
});
