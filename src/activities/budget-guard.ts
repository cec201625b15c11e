/**
 * The batch's budget as a slice sees it: before each item (or call) starts, whether the batch's
 * usage of the budget's unit has reached its maximum. The batch's total is the ledger's running
 * total over committed items (one row), read again after each of this slice's commits (so at most
 * once per commit), plus what this slice's finished items used and have not committed yet. A read
 * just after a commit may count the commit's items twice, never none: the budget errs on the safe side.
 *
 * Other slices' commits show at this slice's next read, so after the budget is reached each slice
 * may start at most one more commit group (or call) of items: the overshoot is at most the items
 * in flight, C x max(k, M), the resume-cost bound.
 */
import type { BatchSpec } from '../contract/batch-spec';
import type { Ledger, OutcomeToCommit } from '../ledger/ledger';

export class BudgetGuard {
  /** The ledger's total at the last read, and the slice's cursor then: a new cursor means a commit since. */
  private ledgerTotal = 0;
  private readAtCursor: number | undefined;
  /** What this slice's finished items used that is not committed yet. */
  private held = 0;

  private constructor(
    private readonly ledger: Ledger,
    private readonly batchId: string,
    private readonly budget: NonNullable<BatchSpec['budget']>,
  ) {}

  /** A guard for a spec with a budget; none (and no ledger reads) without one. */
  static forSpec(ledger: Ledger, batchId: string, spec: BatchSpec): BudgetGuard | undefined {
    return spec.budget === undefined ? undefined : new BudgetGuard(ledger, batchId, spec.budget);
  }

  /**
   * True once the batch has used its budget. `cursor` is the slice's first uncommitted index:
   * when it moved, this slice committed, so the ledger's total is read again.
   */
  async reached(cursor: number): Promise<boolean> {
    if (cursor !== this.readAtCursor) {
      this.readAtCursor = cursor;
      this.ledgerTotal = await this.ledger.usageOf(this.batchId, this.budget.unit);
    }
    return this.ledgerTotal + this.held >= this.budget.max;
  }

  /** Counts what a finished item used, until its commit. */
  spent(outcome: OutcomeToCommit): void {
    this.held += this.usedBy(outcome);
  }

  /** The outcomes are in the ledger's total now: no longer held. */
  committed(outcomes: OutcomeToCommit[]): void {
    for (const outcome of outcomes) this.held -= this.usedBy(outcome);
  }

  private usedBy(outcome: OutcomeToCommit): number {
    return outcome.usage?.[this.budget.unit] ?? 0;
  }
}
