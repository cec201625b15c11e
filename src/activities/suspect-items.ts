/**
 * Suspects: items that were in flight when a worker died. A crash counts against the item that
 * was in flight, and an item that keeps taking its worker down with it is dead-lettered after
 * `itemCrashLimit` crashes so the batch can go on (INVARIANTS.md I8). So that a crash is charged to the item
 * that caused it, suspects run one at a time across the whole batch, under a batch-wide lease.
 */
import type { Ledger, OutcomeToCommit } from '../ledger/ledger';
import { uncommittedPerSlice, type BatchSpec } from '../contract/batch-spec';
import { SliceCancelledError } from './run-item';
import type { SliceSession } from './slice-session';

/**
 * The previous attempt stopped with an item in flight: it is redone now, which counts as an
 * interruption, and a crash also counts against the item.
 */
export async function chargeInterruption(ledger: Ledger, session: SliceSession, spec: BatchSpec): Promise<void> {
  if (!session.interrupted) return;
  const { batchId } = session;
  const { index, cause } = session.interrupted;
  const crashes = await ledger.recordInterruption(batchId, index, cause);
  // Items run in calls were all in flight together, whatever cut the call short. Each is redone
  // now, and after a crash each may have been in the call that killed the worker: each is charged
  // the crash, becomes a suspect and runs in a call of one, where the culprit alone is charged.
  const inCalls = (spec.itemsPerCall ?? 1) > 1;
  if (cause !== 'crash' && !inCalls) return;
  // The mark moves once per commit group: a dead attempt may have run every item of its open
  // group, not only the first. They are all redone now; count them so, erring on the safe side.
  for (let i = index + 1; i < Math.min(index + uncommittedPerSlice(spec), session.end); i++) {
    if (!session.isSettled(i)) await ledger.recordInterruption(batchId, i, inCalls ? cause : 'cut-short');
  }
  if (cause !== 'crash') return;
  if (crashes >= spec.itemCrashLimit) {
    await session.commitAlone(crashedWorkerOutcome(index, crashes));
    session.log.warn('item dead-lettered after crashing its worker', { batchId, index, crashes });
  }
}

function crashedWorkerOutcome(index: number, crashes: number): OutcomeToCommit {
  const now = Date.now();
  return {
    index,
    status: 'failed',
    errorType: 'crashed-worker',
    errorMessage: `the worker process died ${crashes} times while this item was in flight; it is dead-lettered so the batch can go on (raise itemCrashLimit to allow more tries)`,
    attempts: crashes,
    startedAt: now,
    finishedAt: now,
  };
}

/** The suspects of one slice, and this attempt's hold on the batch-wide suspect lease. */
export class SuspectItems {
  private holding = false;
  private readonly renew: NodeJS.Timeout;

  private constructor(
    private readonly ledger: Ledger,
    private readonly session: SliceSession,
    private readonly indexes: Set<number>,
    private readonly leaseMs: number,
  ) {
    // The lease expires unless renewed, so a holder that died releases it.
    this.renew = setInterval(
      () => {
        if (this.holding) void ledger.renewSuspectLease(session.batchId, session.owner, leaseMs).catch(() => undefined);
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
  }

  static async load(ledger: Ledger, session: SliceSession, spec: BatchSpec): Promise<SuspectItems> {
    const indexes = new Set(await ledger.interruptedIndexes(session.batchId, session.start, session.end));
    return new SuspectItems(ledger, session, indexes, spec.heartbeatTimeoutMs);
  }

  has(index: number): boolean {
    return this.indexes.has(index);
  }

  /** The in-flight mark to commit with a group: none when the next item is a suspect, marked only once it really runs. */
  nextInFlight(next: number | null): number | null {
    return next !== null && this.indexes.has(next) ? null : next;
  }

  /** Waits for the batch-wide lease; a slice asked to stop stops waiting. */
  async takeLease(): Promise<void> {
    const { ledger, session } = this;
    while (!(await ledger.acquireSuspectLease(session.batchId, session.owner, this.leaseMs))) {
      if (session.stopping) throw new SliceCancelledError();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.holding = true;
  }

  async releaseLease(): Promise<void> {
    await this.ledger.releaseSuspectLease(this.session.batchId, this.session.owner);
    this.holding = false;
  }

  /** Stops renewing and gives back a lease still held (the slice stopped with a suspect running). */
  async close(): Promise<void> {
    clearInterval(this.renew);
    if (this.holding) await this.ledger.releaseSuspectLease(this.session.batchId, this.session.owner).catch(() => undefined);
  }
}
