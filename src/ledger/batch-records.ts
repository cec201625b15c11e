/** Batch records: each batch's spec and identity, and its manifest once it has one. */

export interface BatchRecord {
  batchId: string;
  spec: unknown;
  manifest?: unknown;
  /**
   * Which batch holds this id (INVARIANTS.md I11): the `firstExecutionRunId` of the workflow that first
   * claimed it. Records written before identities were kept have none.
   */
  identity?: string;
  /** Epoch milliseconds of the claim, when there was one. */
  claimedAt?: number;
}

/** The outcome of claimBatch: the id is this batch's, or it names an earlier batch. */
export type BatchClaim = { claimed: true } | { claimed: false; earlier: BatchRecord };

export interface BatchRecords {
  saveBatch(record: BatchRecord): Promise<void>;
  batch(batchId: string): Promise<BatchRecord | undefined>;
  /**
   * Atomically claims `batchId` for the batch whose identity is `identity`, recording `spec`:
   * a new id is recorded; the same identity again (continue-as-new, a retry, a reset) is
   * accepted; a record without identity (written by an older release) is adopted while it has
   * no manifest (a batch running across the upgrade) and refused once it has one (finished);
   * another identity is refused. A refusal changes nothing.
   */
  claimBatch(batchId: string, identity: string, spec: unknown): Promise<BatchClaim>;
}
