/** The chaos run's verdict, on hand-made ledgers and logs: it must catch what it claims to. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { OutcomeToCommit } from '../../src/ledger/ledger';
import { chaosResult } from '../../tools/chaos/chaos-processor';
import { attributeRedone, checkItems } from '../../tools/chaos/verify';

const SOURCE = ['a', 'b', 'c', 'd'];
const ok = (index: number, result: unknown = chaosResult(index, SOURCE[index])): OutcomeToCommit => ({
  index,
  status: 'succeeded',
  resultJson: JSON.stringify(result),
  attempts: 1,
  startedAt: 1,
  finishedAt: 2,
});
const ran = (index: number, at = 100) => ({ index, pid: 1, at });

describe('checkItems', () => {
  let dir: string;
  let ledger: SqliteLedger;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-chaos-verify-'));
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterEach(async () => {
    await ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes a batch with one right outcome and at least one execution per item', async () => {
    await ledger.commit('b', 0, [ok(0), ok(1), ok(2), ok(3)], null);
    const check = await checkItems(ledger, 'b', SOURCE, [ran(0), ran(1), ran(2), ran(2, 200), ran(3)]);
    expect(check).toEqual({
      total: 4,
      rows: 4,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
      failed: 0,
      wrongResults: 0,
      withoutSideEffect: 0,
      examples: [],
    });
  });

  it('finds lost items, wrong results, outcomes without side effect and indexes outside the source', async () => {
    await ledger.commit('b', 0, [ok(0), ok(1, 'wrong'), ok(3), ok(7)], null);
    const check = await checkItems(ledger, 'b', SOURCE, [ran(0), ran(1), ran(9)]);
    expect(check).toMatchObject({ rows: 4, lost: 1, wrongResults: 1, withoutSideEffect: 1, unexpected: 2 });
    expect(check.examples).toEqual(
      expect.arrayContaining([
        'item 2 has no outcome in the ledger',
        'item 3 has an outcome but its side effect was never logged',
        expect.stringContaining('item 1 has result "wrong"'),
      ]),
    );
  });
});

describe('attributeRedone', () => {
  it('charges each re-execution to the latest interruption at or before it, and flags those before any', () => {
    const executions = [ran(0, 10), ran(0, 25), ran(1, 10), ran(1, 45), ran(1, 30), ran(2, 5), ran(2, 8)];
    expect(attributeRedone(executions, [20, 40])).toEqual({ executions: 7, redone: [[0, 1], [1]], unexplained: [2] });
  });
});
