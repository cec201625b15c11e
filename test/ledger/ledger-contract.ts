/**
 * What every ledger must do, whatever stands behind it: each backend's test file runs this suite
 * against its own store (sqlite-ledger.test.ts, postgres-ledger.test.ts).
 */
import { LeaseLostError } from '../../src/ledger/ledger';
import type { Ledger, OutcomeToCommit } from '../../src/ledger/ledger';
import { allOutcomes } from '../helpers/ledger-rows';

/** One empty store for one test: `open` may be called again after a close, to reopen it. */
export interface LedgerStore {
  open(): Promise<Ledger>;
  dispose(): Promise<void>;
}

export const ok = (index: number, result: unknown = index * 2): OutcomeToCommit => ({
  index,
  status: 'succeeded',
  resultJson: JSON.stringify(result),
  attempts: 1,
  startedAt: 1000,
  finishedAt: 1001,
});

export const bad = (index: number): OutcomeToCommit => ({
  index,
  status: 'failed',
  errorType: 'parse',
  errorMessage: `line ${index + 1} is empty`,
  attempts: 0,
  startedAt: 1000,
  finishedAt: 1000,
});

export function ledgerContract(newStore: () => Promise<LedgerStore>): void {
  let store: LedgerStore;
  let ledger: Ledger;
  beforeEach(async () => {
    store = await newStore();
    ledger = await store.open();
  });
  afterEach(async () => {
    await ledger.close();
    await store.dispose();
  });

  it('keeps the first outcome of an item: a second commit of the same index changes nothing (I3)', async () => {
    await ledger.commit('b', 0, [ok(0, 'first')], 1);
    await ledger.commit('b', 0, [{ ...ok(0, 'second'), attempts: 3 }, ok(1)], null);
    const rows = await allOutcomes(ledger, 'b');
    expect(rows.map((r) => [r.index, r.result, r.attempts])).toEqual([
      [0, 'first', 1],
      [1, 2, 1],
    ]);
    expect(await ledger.totals('b')).toEqual({ succeeded: 2, failed: 0, redone: 0 });
  });

  it('stores every field of an outcome as it came', async () => {
    const started = Date.UTC(2030, 0, 1);
    await ledger.commit(
      'b',
      0,
      [
        { ...ok(5, { nested: [1, 'two', null], unicode: 'é ✓ \u0000' }), attempts: 2, startedAt: started, finishedAt: started + 1234 },
        bad(6),
      ],
      null,
    );
    expect(await allOutcomes(ledger, 'b')).toEqual([
      {
        batchId: 'b',
        index: 5,
        status: 'succeeded',
        result: { nested: [1, 'two', null], unicode: 'é ✓ \u0000' },
        errorType: undefined,
        errorMessage: undefined,
        attempts: 2,
        startedAt: started,
        finishedAt: started + 1234,
      },
      {
        batchId: 'b',
        index: 6,
        status: 'failed',
        result: undefined,
        errorType: 'parse',
        errorMessage: 'line 7 is empty',
        attempts: 0,
        startedAt: 1000,
        finishedAt: 1000,
      },
    ]);
  });

  it('keeps the usage of each item with its outcome, once, and sums it per unit for the batch', async () => {
    expect(await ledger.usageTotals('b')).toEqual({});
    await ledger.commit('b', 0, [{ ...ok(0), usage: { tokens: 10, costUsd: 0.25 } }, { ...bad(1), usage: { tokens: 5 } }, ok(2)], 3);
    // A second commit of item 0 changes nothing, its usage included (I3).
    await ledger.commit(
      'b',
      0,
      [
        { ...ok(0), usage: { tokens: 1000 } },
        { ...ok(3), usage: { tokens: 1, requests: 1 } },
      ],
      null,
    );
    await ledger.commit('other', 0, [{ ...ok(0), usage: { tokens: 99 } }], null);
    expect((await allOutcomes(ledger, 'b')).map((o) => [o.index, o.usage])).toEqual([
      [0, { tokens: 10, costUsd: 0.25 }],
      [1, { tokens: 5 }],
      [2, undefined],
      [3, { tokens: 1, requests: 1 }],
    ]);
    expect(await ledger.usageTotals('b')).toEqual({ costUsd: 0.25, requests: 1, tokens: 16 });
    // The running totals a budget reads agree, the second commit of item 0 left out of them too.
    expect([await ledger.usageOf('b', 'tokens'), await ledger.usageOf('b', 'costUsd'), await ledger.usageOf('b', 'seconds')]).toEqual([
      16, 0.25, 0,
    ]);
    // A commit fenced out of its slice adds nothing.
    await ledger.claimSlice('b', 10, 'attempt-2');
    await expect(ledger.commit('b', 10, [{ ...ok(10), usage: { tokens: 500 } }], null, 'attempt-1')).rejects.toThrow(LeaseLostError);
    expect(await ledger.usageOf('b', 'tokens')).toBe(16);
    await ledger.commit('b', 10, [{ ...ok(10), usage: { tokens: 4 } }], null, 'attempt-2');
    expect(await ledger.usageOf('b', 'tokens')).toBe(20);
    expect(await ledger.usageOf('other', 'tokens')).toBe(99);
    // A redrive's usage comes along with the outcomes it folds in.
    await ledger.commit('b-redrive', 0, [{ ...ok(1), usage: { tokens: 7 } }], null);
    await ledger.mergeRedrive('b-redrive', 'b');
    expect(await ledger.usageTotals('b')).toEqual({ costUsd: 0.25, requests: 1, tokens: 22 });
  });

  it('tallies outcomes per slice range and keeps batches apart', async () => {
    await ledger.commit('b', 0, [ok(0), bad(1), ok(2)], null);
    await ledger.commit('b', 3, [ok(3), bad(4)], null);
    await ledger.commit('other', 0, [ok(0)], null);
    expect(await ledger.tally('b', 0, 3)).toEqual({ succeeded: 2, failed: 1, redone: 0, failedByType: { parse: 1 } });
    expect(await ledger.tally('b', 3, 6)).toEqual({ succeeded: 1, failed: 1, redone: 0, failedByType: { parse: 1 } });
    expect(await ledger.committedIndexes('b', 1, 4)).toEqual([1, 2, 3]);
    expect(await ledger.committedIndexes('b', 0, 10, 'failed')).toEqual([1, 4]);
    expect(await ledger.committedIndexes('b', 0, 10, 'succeeded')).toEqual([0, 2, 3]);
    const failures = (await allOutcomes(ledger, 'b', 'failed')).map((f) => [f.index, f.errorType, f.errorMessage]);
    expect(failures).toEqual([
      [1, 'parse', 'line 2 is empty'],
      [4, 'parse', 'line 5 is empty'],
    ]);
    expect(await ledger.totals('b')).toEqual({ succeeded: 3, failed: 2, redone: 0, failedByType: { parse: 2 } });
    expect(await ledger.totals('nothing-here')).toEqual({ succeeded: 0, failed: 0, redone: 0 });
  });

  it('counts failures by error type', async () => {
    await ledger.commit('b', 0, [bad(0), { ...bad(1), errorType: 'timeout' }, { ...bad(2), errorType: 'timeout' }, ok(3)], null);
    expect(await ledger.tally('b', 0, 4)).toEqual({ succeeded: 1, failed: 3, redone: 0, failedByType: { parse: 1, timeout: 2 } });
  });

  it('remembers the in-flight item of a slice and counts its interruptions', async () => {
    await ledger.markInFlight('b', 100, 100);
    await ledger.commit('b', 100, [ok(100)], 101);
    expect(await ledger.inFlight('b', 100)).toBe(101);
    expect(await ledger.inFlight('b', 200)).toBeNull();
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
    expect(await ledger.claimSlice('b', 0, 'attempt-2')).toEqual({ index: 1, cause: 'crash' });
    await expect(ledger.commit('b', 0, [ok(1, 'from the zombie')], 2, 'attempt-1')).rejects.toThrow(LeaseLostError);
    await expect(ledger.markInFlight('b', 0, 2, 'attempt-1')).rejects.toThrow(LeaseLostError);
    await ledger.commit('b', 0, [ok(1, 'from attempt 2')], null, 'attempt-2');
    expect((await allOutcomes(ledger, 'b')).map((o) => [o.index, o.result])).toEqual([
      [0, 0],
      [1, 'from attempt 2'],
    ]);
  });

  it('lets one slice at a time hold the suspect lease, until it releases it or lets it expire', async () => {
    expect(await ledger.acquireSuspectLease('b', 'slice-0', 60_000)).toBe(true);
    expect(await ledger.acquireSuspectLease('b', 'slice-1', 60_000)).toBe(false);
    // The holder may take it again (a retry of its own acquire) and renew it.
    expect(await ledger.acquireSuspectLease('b', 'slice-0', 60_000)).toBe(true);
    await ledger.renewSuspectLease('b', 'slice-0', 60_000);
    expect(await ledger.acquireSuspectLease('other-batch', 'slice-1', 60_000)).toBe(true);
    // Only the holder can release it.
    await ledger.releaseSuspectLease('b', 'slice-1');
    expect(await ledger.acquireSuspectLease('b', 'slice-1', 60_000)).toBe(false);
    await ledger.releaseSuspectLease('b', 'slice-0');
    expect(await ledger.acquireSuspectLease('b', 'slice-1', 1)).toBe(true);
    // A holder that died stops renewing: its lease runs out and another slice takes it.
    await new Promise((r) => setTimeout(r, 5));
    expect(await ledger.acquireSuspectLease('b', 'slice-2', 60_000)).toBe(true);
  });

  it('clears the in-flight mark when a new attempt claims the slice', async () => {
    await ledger.claimSlice('b', 0, 'attempt-1');
    await ledger.markInFlight('b', 0, 4, 'attempt-1');
    expect(await ledger.claimSlice('b', 0, 'attempt-2')).toEqual({ index: 4, cause: 'crash' });
    // Attempt 2 died before starting any item: attempt 3 must not blame item 4 a second time.
    expect(await ledger.claimSlice('b', 0, 'attempt-3')).toBeNull();
    await ledger.recordInterruption('b', 4);
    expect(await ledger.interruptedIndexes('b', 0, 10)).toEqual([4]);
    expect(await ledger.interruptedIndexes('b', 5, 10)).toEqual([]);
    // Suspects by how often they crashed: those the next crash would dead-letter run alone.
    await ledger.recordInterruption('b', 4);
    await ledger.recordInterruption('b', 6);
    expect(await ledger.interruptedIndexes('b', 0, 10, 2)).toEqual([4]);
    expect(await ledger.interruptedIndexes('b', 0, 10, 1)).toEqual([4, 6]);
  });

  it('remembers the range of items an attempt of many lanes has in flight, and hands it to the next attempt (I5)', async () => {
    await ledger.claimSlice('b', 100, 'attempt-1');
    // Lanes marked items 100 to 107 in flight; 100 and 103 finished and committed with a mark that grew to 110.
    await ledger.markInFlight('b', 100, { from: 100, to: 108 }, 'attempt-1');
    await ledger.commit('b', 100, [ok(100), ok(103)], { from: 100, to: 110 }, 'attempt-1');
    expect(await ledger.inFlight('b', 100)).toBe(100);
    // The next attempt learns the whole range: the items without an outcome in it were in flight.
    expect(await ledger.claimSlice('b', 100, 'attempt-2')).toEqual({ index: 100, to: 110, cause: 'crash' });
    expect(await ledger.inFlight('b', 100)).toBeNull();
    // A stop that cut items short marks their range so.
    await ledger.markCutShort('b', 100, { from: 101, to: 105 }, 'attempt-2');
    expect(await ledger.claimSlice('b', 100, 'attempt-3')).toEqual({ index: 101, to: 105, cause: 'cut-short' });
    await expect(ledger.markInFlight('b', 100, { from: 101, to: 102 }, 'attempt-2')).rejects.toThrow(LeaseLostError);
  });

  it("keeps the batch's control for its slices: the latest generation wins, a quota hold only grows, lanes by slice (I15)", async () => {
    expect(await ledger.sliceControl('b', 0)).toEqual({});
    await ledger.setBatchControl('b', { state: 'pause', generation: 3 });
    expect(await ledger.sliceControl('b', 0)).toEqual({ batch: { state: 'pause', generation: 3 } });
    // A write older than the stored one (a late retry of it) changes nothing.
    await ledger.setBatchControl('b', { state: 'run', generation: 2 });
    expect((await ledger.sliceControl('b', 0)).batch).toEqual({ state: 'pause', generation: 3 });
    await ledger.setBatchControl('b', { state: 'stop', generation: 4 });
    expect((await ledger.sliceControl('b', 0)).batch).toEqual({ state: 'stop', generation: 4 });
    await ledger.holdBatch('b', 5000, 1);
    await ledger.holdBatch('b', 4000, 1);
    expect((await ledger.sliceControl('b', 7)).held).toEqual({ until: 5000, generation: 1 });
    // A hold met after the workflow waited the last one out replaces it; a late one of before does not.
    await ledger.holdBatch('b', 3000, 2);
    await ledger.holdBatch('b', 9000, 1);
    expect((await ledger.sliceControl('b', 7)).held).toEqual({ until: 3000, generation: 2 });
    await ledger.setSliceLanes('b', 0, 12, 5);
    await ledger.claimSlice('b', 0, 'attempt-1');
    expect(await ledger.sliceControl('b', 0)).toEqual({
      batch: { state: 'stop', generation: 4 },
      held: { until: 3000, generation: 2 },
      lanes: { lanes: 12, generation: 5 },
    });
    expect((await ledger.sliceControl('b', 1)).lanes).toBeUndefined();
    // Another batch's control is its own.
    expect(await ledger.sliceControl('other', 0)).toEqual({});
    // A hold before any control write reads as a batch that runs.
    await ledger.holdBatch('other', 1, 0);
    expect(await ledger.sliceControl('other', 0)).toEqual({ batch: { state: 'run', generation: 0 }, held: { until: 1, generation: 0 } });
  });

  it('tells an item cut short by a cancellation from a crash: redone, but never a suspect', async () => {
    await ledger.claimSlice('b', 0, 'attempt-1');
    await ledger.markCutShort('b', 0, 6, 'attempt-1');
    expect(await ledger.claimSlice('b', 0, 'attempt-2')).toEqual({ index: 6, cause: 'cut-short' });
    expect(await ledger.recordInterruption('b', 6, 'cut-short')).toBe(0);
    expect(await ledger.interruptedIndexes('b', 0, 10)).toEqual([]);
    expect((await ledger.tally('b', 0, 10)).redone).toBe(1);
    // A fenced-out attempt cannot leave a mark either.
    await expect(ledger.markCutShort('b', 0, 7, 'attempt-1')).rejects.toThrow(LeaseLostError);
    // The next commit of the slice clears the mark back to an ordinary in-flight item.
    await ledger.markCutShort('b', 0, 7, 'attempt-2');
    await ledger.commit('b', 0, [ok(7)], 8, 'attempt-2');
    expect(await ledger.claimSlice('b', 0, 'attempt-3')).toEqual({ index: 8, cause: 'crash' });
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
    await expect(ledger.commit('b', 0, [ok(0), ok(1), ok(2)], 3, 'older-attempt')).rejects.toThrow(LeaseLostError);
    expect(await ledger.committedIndexes('b', 0, 10)).toEqual([]);
    expect(await ledger.inFlight('b', 0)).toBeNull();
  });

  it('commits slices that commit at the same moment each on its own: a fenced-out one fails alone and writes nothing', async () => {
    await ledger.claimSlice('b', 0, 'slice-0');
    await ledger.claimSlice('b', 10, 'slice-10');
    await ledger.claimSlice('b', 20, 'old-slice-20');
    await ledger.claimSlice('b', 20, 'new-slice-20');
    // Issued together, as C lanes of one worker do when their items finish in the same tick.
    const results = await Promise.allSettled([
      ledger.commit('b', 0, [ok(0), ok(1)], 2, 'slice-0'),
      ledger.commit('b', 20, [ok(20, 'from the zombie')], 21, 'old-slice-20'),
      ledger.commit('b', 10, [bad(10)], 11, 'slice-10'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(await ledger.committedIndexes('b', 0, 30)).toEqual([0, 1, 10]);
    expect([await ledger.inFlight('b', 0), await ledger.inFlight('b', 10), await ledger.inFlight('b', 20)]).toEqual([2, 11, null]);
  });

  it('folds a redrive into its batch: failures and pending items take the new outcome, successes stay', async () => {
    await ledger.commit('b', 0, [ok(0, 'original'), bad(1), bad(2)], null);
    // The redrive re-ran items 0 (it should not have: its success must stay), 1, 2 and 3 (pending in b).
    await ledger.commit('b-redrive', 0, [ok(0, 'redriven'), ok(1, 'fixed'), bad(2), ok(3, 'filled')], null);
    await ledger.mergeRedrive('b-redrive', 'b');
    expect((await allOutcomes(ledger, 'b')).map((o) => [o.index, o.status, o.result ?? o.errorMessage])).toEqual([
      [0, 'succeeded', 'original'],
      [1, 'succeeded', 'fixed'],
      [2, 'failed', 'line 3 is empty'],
      [3, 'succeeded', 'filled'],
    ]);
    expect(await ledger.totals('b')).toEqual({ succeeded: 3, failed: 1, redone: 0, failedByType: { parse: 1 } });
    expect(await ledger.totals('b-redrive')).toEqual({ succeeded: 3, failed: 1, redone: 0, failedByType: { parse: 1 } });
  });

  it('streams every outcome of a large batch in index order', async () => {
    const count = 12_345;
    for (let start = 0; start < count; start += 1000) {
      const group = [];
      for (let i = start; i < Math.min(start + 1000, count); i++) group.push(i % 7 === 0 ? bad(i) : ok(i));
      // Out of order within the group, as a ledger must not rely on its callers' order.
      await ledger.commit('big', start, group.reverse(), null);
    }
    let expected = 0;
    for await (const o of ledger.outcomes('big')) {
      expect(o.index).toBe(expected++);
    }
    expect(expected).toBe(count);
    const failed = await allOutcomes(ledger, 'big', 'failed');
    expect(failed.length).toBe(Math.ceil(count / 7));
    expect(failed.every((o, i) => o.index === i * 7)).toBe(true);
  });

  it('survives reopening: outcomes, batch record and manifest are on disk', async () => {
    await ledger.commit('b', 0, [ok(0)], null);
    await ledger.saveBatch({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } } });
    await ledger.saveBatch({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } }, manifest: { total: 1 } });
    // Saving the spec again keeps the manifest.
    await ledger.saveBatch({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } } });
    await ledger.close();
    ledger = await store.open();
    expect(await ledger.totals('b')).toEqual({ succeeded: 1, failed: 0, redone: 0 });
    expect(await ledger.batch('b')).toEqual({ batchId: 'b', spec: { source: { kind: 'text', path: '/x' } }, manifest: { total: 1 } });
    expect(await ledger.batch('missing')).toBeUndefined();
  });

  describe('claimBatch: a batch id names one batch forever (I11)', () => {
    const specA = { source: { kind: 'text', path: '/a' } };
    const specB = { source: { kind: 'text', path: '/b' } };

    it('records the first claim and accepts the same identity again, keeping the manifest', async () => {
      expect(await ledger.claimBatch('b', 'run-1', specA)).toEqual({ claimed: true });
      const first = await ledger.batch('b');
      expect(first).toMatchObject({ batchId: 'b', spec: specA, identity: 'run-1' });
      expect(first?.claimedAt).toEqual(expect.any(Number));
      await ledger.saveBatch({ batchId: 'b', spec: specA, manifest: { status: 'completed' } });
      // A retry or reset of the same batch: accepted even once finished; the manifest and identity stay.
      expect(await ledger.claimBatch('b', 'run-1', specA)).toEqual({ claimed: true });
      expect(await ledger.batch('b')).toEqual({ ...first, manifest: { status: 'completed' } });
    });

    it('refuses another identity and changes nothing, finished or not', async () => {
      await ledger.claimBatch('b', 'run-1', specA);
      await ledger.commit('b', 0, [ok(0)], null);
      const running = await ledger.batch('b');
      expect(await ledger.claimBatch('b', 'run-2', specB)).toEqual({ claimed: false, earlier: running });
      expect(await ledger.batch('b')).toEqual(running);
      await ledger.saveBatch({ batchId: 'b', spec: specA, manifest: { status: 'completed' } });
      const finished = await ledger.batch('b');
      expect(await ledger.claimBatch('b', 'run-2', specB)).toEqual({ claimed: false, earlier: finished });
      expect(await ledger.batch('b')).toEqual(finished);
      expect(await allOutcomes(ledger, 'b')).toHaveLength(1);
    });

    it('adopts a record an older release left without identity while it has no manifest, and refuses it once it has one', async () => {
      await ledger.saveBatch({ batchId: 'running', spec: specA });
      expect(await ledger.claimBatch('running', 'run-1', specA)).toEqual({ claimed: true });
      expect(await ledger.batch('running')).toMatchObject({ spec: specA, identity: 'run-1' });
      // Adopted: from now on it is that batch's.
      expect(await ledger.claimBatch('running', 'run-2', specB)).toMatchObject({ claimed: false });

      await ledger.saveBatch({ batchId: 'finished', spec: specA, manifest: { status: 'completed' } });
      expect(await ledger.claimBatch('finished', 'run-1', specB)).toEqual({
        claimed: false,
        earlier: { batchId: 'finished', spec: specA, manifest: { status: 'completed' } },
      });
      expect(await ledger.batch('finished')).toEqual({ batchId: 'finished', spec: specA, manifest: { status: 'completed' } });
    });

    it('lets exactly one of two identities that claim a new id at once have it', async () => {
      const claims = await Promise.all([ledger.claimBatch('b', 'run-1', specA), ledger.claimBatch('b', 'run-2', specB)]);
      expect(claims.filter((c) => c.claimed)).toHaveLength(1);
      const winner = claims[0].claimed ? 'run-1' : 'run-2';
      expect(await ledger.batch('b')).toMatchObject({ identity: winner, spec: winner === 'run-1' ? specA : specB });
    });
  });
}
