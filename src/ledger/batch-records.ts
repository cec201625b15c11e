/** Batch records: each batch's spec, and its manifest once it has one. */

export interface BatchRecord {
  batchId: string;
  spec: unknown;
  manifest?: unknown;
}

export interface BatchRecords {
  saveBatch(record: BatchRecord): Promise<void>;
  batch(batchId: string): Promise<BatchRecord | undefined>;
}
