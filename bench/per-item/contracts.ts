/** Inputs of the per-item baseline; types only, so the workflow can import them. */

export interface PerItemBatchInput {
  /** JSONL file, one item per line. */
  path: string;
  processor: string;
  options?: Record<string, unknown>;
  /** Items read (and run in parallel) per page; one workflow run per page. */
  pageSize: number;
  /** Byte offset of the page to read, so no page re-reads the ones before it. */
  offset: number;
}

export interface PerItemTotals {
  processed: number;
  failed: number;
  runs: number;
}

export interface Page {
  items: unknown[];
  nextOffset: number;
  exhausted: boolean;
}
