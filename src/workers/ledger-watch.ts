/**
 * A worker whose PostgreSQL ledger cannot be reached says so as it starts, in one line, instead of
 * looking healthy while every batch waits; it keeps running and keeps trying, and says when the
 * ledger answers. (Its activities report the same to the batches: src/activities/ledger-unreachable.ts.)
 */
import type { Ledger } from '../ledger/ledger';
import { PostgresLedger } from '../ledger/postgres-ledger';

const RETRY_MS = 10_000;

/** Starts watching; returns the function that stops it. A SQLite ledger is a local file, opened already. */
export function watchLedgerAtStart(ledger: Ledger, ledgerName: string, say: (line: string) => void): () => void {
  if (!(ledger instanceof PostgresLedger)) return () => {};
  let stopped = false;
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async () => {
    try {
      await ledger.ready();
      if (warned && !stopped) say(`waymark worker: the ${ledgerName} answers now; batches go on`);
    } catch (err) {
      if (stopped) return;
      if (!warned) {
        say(
          `waymark worker: ${(err as Error).message}. The worker runs on and tries again every ${RETRY_MS / 1000} s; ` +
            'batches wait meanwhile, and `waymark status` shows "ledger unreachable"',
        );
        warned = true;
      }
      timer = setTimeout(() => void attempt(), RETRY_MS);
      timer.unref();
    }
  };
  void attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
