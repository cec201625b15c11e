/**
 * What every ledger's provider jobs must do (INVARIANTS.md I17), run by sqlite-ledger.test.ts and
 * postgres-ledger.test.ts against their own store: an item is in at most one live job, however
 * many attempts try to record one at once; a job's submission steps are taken by its owner only.
 */
import type { Ledger } from '../../src/ledger/ledger';
import { ProviderJobTakenError } from '../../src/ledger/provider-jobs';
import type { LedgerStore } from './ledger-contract';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

export function providerJobsContract(newStore: () => Promise<LedgerStore>): void {
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

  const intent = (key: string, items: number[], owner = 'attempt-1') =>
    ledger.recordProviderIntent({ batchId: 'b', key, provider: 'openai', items, intentAt: 1000, owner });

  it('records an intent only for items no live job holds, and frees them once the job is collected or abandoned (I17)', async () => {
    expect(await intent('j1', range(0, 100))).toBe(true);
    // Overlapping a live job by a single item is refused, whole.
    expect(await intent('j2', [99, 100, 101])).toBe(false);
    expect(await intent('j3', range(100, 200))).toBe(true);
    await ledger.updateProviderJob('b', 'j1', { state: 'collected', endedAt: 2000 });
    expect(await intent('j4', range(50, 60))).toBe(true);
    await ledger.updateProviderJob('b', 'j4', { state: 'abandoned', charged: false });
    expect(await intent('j5', range(50, 60))).toBe(true);
    // Another batch's items are its own.
    expect(
      await ledger.recordProviderIntent({ batchId: 'other', key: 'j1', provider: 'openai', items: range(0, 100), intentAt: 1, owner: 'x' }),
    ).toBe(true);
    const jobs = await ledger.providerJobs('b', 0, 200);
    expect(jobs.map((j) => [j.key, j.state, j.items.length, j.charged])).toEqual([
      ['j1', 'collected', 100, true],
      ['j3', 'intent', 100, true],
      ['j4', 'abandoned', 10, false],
      ['j5', 'intent', 10, true],
    ]);
  });

  it('lets exactly one of many attempts record a job of the same items at once (I17)', async () => {
    // Reads at once first: a pooled ledger then has a connection ready for each attempt, and they race.
    await Promise.all(range(0, 8).map(() => ledger.providerJobs('b', 0, 100)));
    const results = await Promise.all(range(0, 8).map((i) => intent(`race-${i}`, range(i, 50 + i), `attempt-${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await ledger.providerJobs('b', 0, 100)).length).toBe(1);
  });

  it('moves a job on for its owner only: an attempt it was taken from can record no step', async () => {
    await intent('j1', range(0, 10), 'attempt-1');
    await ledger.updateProviderJob('b', 'j1', { state: 'uploaded', fileId: 'file-1' }, 'attempt-1');
    await ledger.takeProviderJob('b', 'j1', 'attempt-2');
    await expect(ledger.updateProviderJob('b', 'j1', { state: 'creating', creatingAt: 3000 }, 'attempt-1')).rejects.toThrow(
      ProviderJobTakenError,
    );
    await ledger.updateProviderJob('b', 'j1', { state: 'creating', creatingAt: 3000 }, 'attempt-2');
    await ledger.updateProviderJob(
      'b',
      'j1',
      { state: 'submitted', jobId: 'batch_1', status: 'validating', submittedAt: 4000 },
      'attempt-2',
    );
    const [job] = await ledger.providerJobs('b', 5, 6);
    expect(job).toMatchObject({
      key: 'j1',
      state: 'submitted',
      owner: 'attempt-2',
      fileId: 'file-1',
      jobId: 'batch_1',
      status: 'validating',
      creatingAt: 3000,
      submittedAt: 4000,
      items: range(0, 10),
      cancelRequested: false,
      oddPolls: 0,
    });
  });

  it('finds jobs by the items they hold, and tells which provider ids some batch recorded', async () => {
    await intent('j1', [3, 5, 7, 900]);
    expect((await ledger.providerJobs('b', 0, 3)).length).toBe(0);
    // Within the job's bounds but none of its items: not found.
    expect((await ledger.providerJobs('b', 8, 20)).length).toBe(0);
    expect((await ledger.providerJobs('b', 5, 6)).map((j) => j.key)).toEqual(['j1']);
    expect((await ledger.providerJobs('b', 901, 1000)).length).toBe(0);
    await ledger.updateProviderJob('b', 'j1', { jobId: 'msgbatch_1', state: 'submitted' });
    expect(await ledger.recordedProviderJobIds('openai', ['msgbatch_1', 'msgbatch_2'])).toEqual(['msgbatch_1']);
    expect(await ledger.recordedProviderJobIds('anthropic', ['msgbatch_1'])).toEqual([]);
  });
}
