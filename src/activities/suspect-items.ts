/**
 * Suspects: items that were in flight when a worker died. A crash counts against every item in
 * flight, and an item that keeps taking its worker down with it is dead-lettered after
 * `itemCrashLimit` crashes so the batch can go on (INVARIANTS.md I8). With many lanes, many items
 * are in flight at a crash, most of them innocent, so a suspect runs like any other item while one
 * more crash would not dead-letter it; one that the next crash would dead-letter runs alone, under
 * a batch-wide lease, so that crash is charged to it and to nothing beside it.
 */
import type { Ledger, OutcomeToCommit } from '../ledger/ledger';
import type { BatchSpec } from '../contract/batch-spec';
import { SliceCancelledError } from './run-item';
import type { SliceSession } from './slice-session';

/**
 * The previous attempt stopped with items in flight: each is redone now, which counts as an
 * interruption, and a crash also counts against each of them; one that reached the crash limit
 * is dead-lettered.
 */
export async function chargeInterruption(ledger: Ledger, session: SliceSession, spec: BatchSpec): Promise<void> {
  const { batchId, interrupted } = session;
  if (interrupted === null) return;
  for (const index of session.interruptedItems()) {
    const crashes = await ledger.recordInterruption(batchId, index, interrupted.cause);
    if (interrupted.cause === 'crash' && crashes >= spec.itemCrashLimit) {
      await session.commitAlone(crashedWorkerOutcome(index, crashes));
      session.log.warn('item dead-lettered after crashing its worker', { batchId, index, crashes });
    }
  }
}

/** Crashes after which an item runs alone: the next one dead-letters it. */
function crashesToRunAlone(spec: BatchSpec): number {
  return Math.max(1, spec.itemCrashLimit - 1);
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
    const indexes = new Set(await ledger.interruptedIndexes(session.batchId, session.start, session.end, crashesToRunAlone(spec)));
    return new SuspectItems(ledger, session, indexes, spec.heartbeatTimeoutMs);
  }

  /** Whether the item must run alone: the next crash would dead-letter it. */
  runsAlone(index: number): boolean {
    return this.indexes.has(index);
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
