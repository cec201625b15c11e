/**
 * The `custom_id` of an item's request: the batch and the item's index, within Anthropic's
 * ^[a-zA-Z0-9_-]{1,64}$ (OpenAI takes any string). A provider returns results in any order, so
 * results are mapped back to items by this id alone, never by line order.
 *
 * A batch id may hold any character and be long, so the batch is named by the first 12 hex
 * digits of its id's SHA-256: `wm_<12 hex>_<index>`, at most 36 characters. A result whose id
 * names another batch, or an index the job did not hold, is not this job's and is left alone.
 */
import { createHash } from 'node:crypto';

const PATTERN = /^wm_([0-9a-f]{12})_(0|[1-9]\d{0,15})$/;

/** The batch's part of its custom ids. */
export function batchTag(batchId: string): string {
  return createHash('sha256').update(batchId).digest('hex').slice(0, 12);
}

export function customId(tag: string, index: number): string {
  return `wm_${tag}_${index}`;
}

/** The item index a custom id names, or undefined when it is not one of this batch's. */
export function indexOf(tag: string, id: unknown): number | undefined {
  if (typeof id !== 'string') return undefined;
  const match = PATTERN.exec(id);
  if (match === null || match[1] !== tag) return undefined;
  return Number(match[2]);
}
