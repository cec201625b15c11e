/**
 * A source turns a file or folder into items addressed by index, and splits it into slices
 * whose boundaries are cheap to seek to (byte offsets), so no slice ever re-reads what came before.
 */
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';
import type { SliceCut } from './window-planner';

/**
 * One item as read from the source. Exactly one of `value` and `parseError` is set:
 * an item that cannot be read (bad JSON, bad UTF-8, too long, ragged CSV row, empty line)
 * carries the reason and becomes a `parse` failure row; it never stops the slice.
 */
export interface SourceItem {
  index: number;
  value?: unknown;
  parseError?: string;
  /** Absolute path of the file, for folder sources, so processors can read it. */
  file?: string;
}

export interface Source {
  /** Number of items in the whole source; read once per batch, for progress and ETA. */
  countItems(): Promise<number>;
  /** Boundaries of up to `maxItems` items from `from`, cut into slices as `cut` says (window-planner.ts). */
  planWindow(from: SourcePosition, maxItems: number, cut: SliceCut): Promise<WindowPlan>;
  /** The items of one slice, in index order. */
  readSlice(slice: SliceBounds): AsyncIterable<SourceItem>;
}

/**
 * A source that cannot be opened or read at all (missing file, no permission).
 * Not retryable: retrying will not make the file appear; the message says what to fix.
 */
export class SourceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUnavailableError';
  }
}
