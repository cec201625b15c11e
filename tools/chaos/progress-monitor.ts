/**
 * Watches a running batch from outside, through the side-effect log and point lookups in the
 * ledger: which items are committed, which slices the batch has started, and which executions
 * have no outcome yet. An execution that stays without an outcome is an item an interruption cut
 * short; it stays so until the item is redone and committed. (Counting the ledger's rows instead
 * would cost a scan of the batch on every poll, on the same two cores the batch runs on.)
 */
import type { Ledger } from '../../src/ledger/ledger';
import type { ExecutionLogTail } from './execution-log';

export class ProgressMonitor {
  /** Epoch ms of the first execution in the slice started last. */
  lastSliceStartedAt = 0;
  private readonly startedSlices = new Set<number>();
  private readonly committedItems = new Set<number>();
  /** Executed items not seen committed yet: index -> start of its latest execution. */
  private readonly awaitingOutcome = new Map<number, number>();

  constructor(
    private readonly ledger: Ledger,
    private readonly batchId: string,
    private readonly log: ExecutionLogTail,
    /**
     * Slices start at multiples of S: every window is whole rounds of slices of S
     * (chaos-options.ts alignedWindow), the cut waymark makes of it.
     */
    private readonly sliceSize: number,
    /** An execution this old is expected to be committed; younger ones are not looked up yet. */
    private readonly commitLatencyMs: number,
  ) {}

  /** Executed items found committed: the ledger's count, about commitLatencyMs late. */
  get committed(): number {
    return this.committedItems.size;
  }

  async sample(): Promise<void> {
    for (const { index, at } of this.log.readNew()) {
      this.awaitingOutcome.set(index, at);
      const slice = Math.floor(index / this.sliceSize);
      if (!this.startedSlices.has(slice)) {
        this.startedSlices.add(slice);
        this.lastSliceStartedAt = Math.max(this.lastSliceStartedAt, at);
      }
    }
    const checkBefore = Date.now() - this.commitLatencyMs;
    for (const [index, at] of this.awaitingOutcome) {
      if (at >= checkBefore) continue;
      if ((await this.ledger.committedIndexes(this.batchId, index, index + 1)).length > 0) {
        this.awaitingOutcome.delete(index);
        this.committedItems.add(index);
      }
    }
  }

  /**
   * True when every item whose latest execution started before `time` has an outcome: no item
   * cut short before then still waits to be redone. Meaningful for `time` commitLatencyMs ago or earlier.
   */
  allCommittedBefore(time: number): boolean {
    for (const at of this.awaitingOutcome.values()) if (at < time) return false;
    return true;
  }
}
