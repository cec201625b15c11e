/**
 * Interruptions: per item, how often it was in flight when its worker died (crashes, for poison
 * detection, I8) and how often it was redone after a cut-short attempt.
 */
import type { InterruptedItem } from './slice-ownership';

export interface Interruptions {
  /**
   * Counts one interruption of `index`, which is about to be redone: a crash (it was in flight
   * when its worker died) or a cut-short item. Returns how many crashes the item has caused so
   * far, for poison detection; both kinds count as redone.
   */
  recordInterruption(batchId: string, index: number, cause?: InterruptedItem['cause']): Promise<number>;
  /** Items in [from, to) that were in flight when a worker died at least `minCrashes` times (default once): the suspects. */
  interruptedIndexes(batchId: string, from: number, to: number, minCrashes?: number): Promise<number[]>;
  /**
   * Every item of the batch that was interrupted, with how often (crashes and cut-short redos
   * together), in index order: what the report charts as items redone.
   */
  interruptedItems(batchId: string): Promise<{ index: number; interruptions: number }[]>;
}
