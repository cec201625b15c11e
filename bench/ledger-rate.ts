/**
 * The storage limit for noop items: a ledger's commits alone, with no Temporal, no source and
 * no processor, writing the rows waymark writes in the shapes it writes them: C lanes, each
 * claiming a slice of S items and committing k outcomes per transaction with the slice's next
 * item in flight and its owner, exactly as processSlice does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteLedger } from '../src/ledger/sqlite-ledger';
import type { Ledger, OutcomeToCommit } from '../src/ledger/ledger';
import type { Throughput } from './throughput';

export interface LedgerShape {
  items: number;
  sliceSize: number;
  commitGroup: number;
  concurrency: number;
}

export type LedgerRate = Throughput & { commits: number };

/** The ledger calls processSlice makes per slice and per commit group. */
export type LedgerWritePath = Pick<Ledger, 'claimSlice' | 'markInFlight' | 'commit'>;

/** The commit rate of `ledger`, which the caller opens, empties and closes. */
export async function commitRateOf(ledger: LedgerWritePath, shape: LedgerShape): Promise<LedgerRate> {
  const batchId = 'ledger-rate';
  const { items, sliceSize, commitGroup, concurrency } = shape;
  let commits = 0;
  let nextSlice = 0;
  const t0 = performance.now();
  const lane = async () => {
    for (let start = nextSlice; start < items; start = nextSlice) {
      nextSlice += sliceSize;
      const end = Math.min(items, start + sliceSize);
      const owner = `lane/${start}`;
      await ledger.claimSlice(batchId, start, owner);
      await ledger.markInFlight(batchId, start, start, owner);
      const pending: OutcomeToCommit[] = [];
      for (let index = start; index < end; index++) {
        const now = Date.now();
        pending.push({ index, status: 'succeeded', resultJson: 'null', attempts: 1, startedAt: now, finishedAt: now });
        const next = index + 1 < end ? index + 1 : null;
        if (pending.length >= commitGroup || next === null) {
          await ledger.commit(batchId, start, pending, next, owner);
          commits++;
          pending.length = 0;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  return { items, seconds, itemsPerSecond: items / seconds, commits };
}

/** Runs `work` on a new SQLite ledger file in `dir`, removed afterwards. */
export async function withTempLedger<T>(dir: string, work: (ledger: SqliteLedger) => Promise<T>): Promise<T> {
  const file = path.join(dir, `ledger-${process.hrtime.bigint()}.sqlite`);
  const ledger = new SqliteLedger(file);
  try {
    return await work(ledger);
  } finally {
    await ledger.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  }
}

/** The commit rate of a new SQLite ledger file in `dir`. */
export function ledgerCommitRate(dir: string, shape: LedgerShape): Promise<LedgerRate> {
  return withTempLedger(dir, (ledger) => commitRateOf(ledger, shape));
}
