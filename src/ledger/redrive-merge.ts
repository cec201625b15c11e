export interface RedriveMerge {
  /**
   * Folds a redrive batch's outcomes into the batch it redrove, in one transaction: an item's
   * new outcome replaces a failure and fills a pending item; a success is never overwritten.
   */
  mergeRedrive(redriveBatchId: string, intoBatchId: string): Promise<void>;
}
