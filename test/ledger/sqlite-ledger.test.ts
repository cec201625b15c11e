import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { LeaseLostError } from '../../src/ledger/ledger';
import type { OutcomeToCommit } from '../../src/ledger/ledger';

const ok = (index: number, result: unknown = index * 2): OutcomeToCommit => ({
  index,
  status: 'succeeded',
  resultJson: JSON.stringify(result),
  attempts: 1,
  startedAt: 1000,
  finishedAt: 1001,
});
const bad = (index: number): OutcomeToCommit => ({
  index,
  status: 'failed',
  errorType: 'parse',
  errorMessage: `line ${index + 1} is empty`,
  attempts: 0,
  startedAt: 1000,
  finishedAt: 1000,
});

describe('SqliteLedger', () => {
  let dir: string;
  let ledger: SqliteLedger;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-ledger-'));
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterEach(async () => {
    await ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the first outcome of an item: a second commit of the same index changes nothing (I3)', async () => {
    await ledger.commit('b', 0, [ok(0, 'first')], 1);
    await ledger.commit('b', 0, [{ ...ok(0, 'second'), attempts: 3 }, ok(1)], null);
    const rows = [];
    for await (const o of ledger.outcomes('b')) rows.push(o);
    expect(rows.map((r) => [r.index, r.result, r.attempts])).toEqual([
      [0, 'first', 1],
      [1, 2, 1],
    ]);
    expect(await ledger.totals('b')).toEqual({ succeeded: 2, failed: 0, redone: 0 });
  });

  it('tallies outcomes per slice range and keeps batches apart', async () => {
    await ledger.commit('b', 0, [ok(0), bad(1), ok(2)], null);
    await ledger.commit('b', 3, [ok(3), bad(4)], null);
    await ledger.commit('other', 0, [ok(0)], null);
    expect(await ledger.tally('b', 0, 3)).toEqual({ succeeded: 2, failed: 1, redone: 0, failedByType: { parse: 1 } });
    expect(await ledger.tally('b', 3, 6)).toEqual({ succeeded: 1, failed: 1, redone: 0, failedByType: { parse: 1 } });
    expect(await ledger.committedIndexes('b', 1, 4)).toEqual([1, 2, 3]);
    const failures = [];
    for await (const f of ledger.outcomes('b', 'failed')) failures.push([f.index, f.errorType, f.errorMessage]);
    expect(failures).toEqual([
      [1, 'parse', 'line 2 is empty'],
      [4, 'parse', 'line 5 is empty'],
    ]);
  });

  it('remembers the in-flight item of a slice and counts its interruptions', async () => {
    await ledger.markInFlight('b', 100, 100);
    await ledger.commit('b', 100, [ok(100)], 101);
    expect(await ledger.inFlight('b', 100)).toBe(101);
    expect(await ledger.recordInterruption('b', 101)).toBe(1);
    expect(await ledger.recordInterruption('b', 101)).toBe(2);
    expect((await ledger.tally('b', 100, 200)).redone).toBe(2);
    await ledger.markInFlight('b', 100, null);
    expect(await ledger.inFlight('b', 100)).toBeNull();
  });

  it('fences out an older attempt of a slice once a newer one claims it', async () => {
    expect(await ledger.claimSlice('b', 0, 'attempt-1')).toBeNull();
    await ledger.markInFlight('b', 0, 0, 'attempt-1');
    await ledger.commit('b', 0, [ok(0)], 1, 'attempt-1');
    // The server gave up on attempt 1 (its worker lost the server); attempt 2 takes over and
    // learns which item attempt 1 had in flight.
    expect(await ledger.claimSlice('b', 0, 'attempt-2')).toBe(1);
    await expect(ledger.commit('b', 0, [ok(1, 'from the zombie')], 2, 'attempt-1')).rejects.toThrow(LeaseLostError);
    await expect(ledger.markInFlight('b', 0, 2, 'attempt-1')).rejects.toThrow(LeaseLostError);
    await ledger.commit('b', 0, [ok(1, 'from attempt 2')], null, 'attempt-2');
    const rows = [];
    for await (const o of ledger.outcomes('b')) rows.push([o.index, o.result]);
    expect(rows).toEqual([
      [0, 0],
      [1, 'from attempt 2'],
    ]);
  });

  it('lets one slice at a time hold the suspect lease, until it releases it or lets it expire', async () => {
    expect(await ledger.acquireSuspectLease('b', 'slice-0', 60_000)).toBe(true);
    expect(await ledger.acquireSuspectLease('b', 'slice-1', 60_000)).toBe(false);
    expect(await ledger.acquireSuspectLease('other-batch', 'slice-1', 60_000)).toBe(true);
    await ledger.releaseSuspectLease('b', 'slice-0');
    expect(await ledger.acquireSuspectLease('b', 'slice-1', 1)).toBe(true);
    // A holder that died stops renewing: its lease runs out and another slice takes it.
    await new Promise((r) => setTimeout(r, 5));
    expect(await ledger.acquireSuspectLease('b', 'slice-2', 60_000)).toBe(true);
  });

  it('clears the in-flight mark when a new attempt claims the slice', async () => {
    await ledger.claimSlice('b', 0, 'attempt-1');
    await ledger.markInFlight('b', 0, 4, 'attempt-1');
    expect(await ledger.claimSlice('b', 0, 'attempt-2')).toBe(4);
    // Attempt 2 died before starting any item: attempt 3 must not blame item 4 a second time.
    expect(await ledger.claimSlice('b', 0, 'attempt-3')).toBeNull();
    await ledger.recordInterruption('b', 4);
    expect(await ledger.interruptedIndexes('b', 0, 10)).toEqual([4]);
  });

  it('does not count the last interruption of a dead-lettered item as redone', async () => {
    for (let i = 0; i < 3; i++) await ledger.recordInterruption('b', 7);
    await ledger.recordInterruption('b', 8);
    await ledger.commit('b', 0, [{ ...bad(7), errorType: 'crashed-worker' }, ok(8)], null);
    // Item 7 was redone twice, then dead-lettered on its third crash; item 8 was redone once.
    expect(await ledger.tally('b', 0, 10)).toEqual({ succeeded: 1, failed: 1, redone: 3, failedByType: { 'crashed-worker': 1 } });
  });

  it('is atomic per commit group: a group that fails leaves no row behind', async () => {
    await ledger.claimSlice('b', 0, 'newer-attempt');
    // The fence check comes after the group's inserts, inside the same transaction.
    await expect(ledger.commit('b', 0, [ok(0), ok(1), ok(2)], 3, 'older-attempt')).rejects.toThrow(LeaseLostError);
    expect(await ledger.committedIndexes('b', 0, 10)).toEqual([]);
  });

  it('survives reopening: outcomes, batch record and manifest are on disk', async () => {
    await ledger.commit('b', 0, [ok(0)], null);
    await ledger.saveBatch({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } } });
    await ledger.saveBatch({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } }, manifest: { total: 1 } });
    await ledger.close();
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
    expect(await ledger.totals('b')).toEqual({ succeeded: 1, failed: 0, redone: 0 });
    expect(await ledger.batch('b')).toEqual({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } }, manifest: { total: 1 } });
    expect(await ledger.batch('missing')).toBeUndefined();
  });
});
