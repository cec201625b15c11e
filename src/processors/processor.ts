/**
 * What a processor is: an async function from one item to a result, plus the errors it may
 * throw to steer what waymark does with the item.
 */

export interface ItemLogger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  error(message: string, attrs?: Record<string, unknown>): void;
}

export interface ProcessorContext {
  batchId: string;
  /** Index of the item in its source. */
  index: number;
  /** 1 for the first attempt at this item. */
  attempt: number;
  /** `${batchId}:${index}`: the same on every attempt and every resume, for downstream dedup. */
  idempotencyKey: string;
  /** Aborted when the item times out or the slice is cancelled; long work should listen to it. */
  signal: AbortSignal;
  log: ItemLogger;
  /** Absolute path of the item's file, for folder sources. */
  file?: string;
  /** The processor's options from the batch spec. */
  options: Record<string, unknown>;
}

export type ProcessorFn<R = unknown> = (item: unknown, ctx: ProcessorContext) => Promise<R>;

export interface Processor<R = unknown> {
  readonly process: ProcessorFn<R>;
  /** Checks the spec's options before any work is done; throws with a message naming the option. */
  readonly validateOptions?: (options: Record<string, unknown>) => void;
  /**
   * Checks, on a worker, what only that machine can tell: that the processor can run there at
   * all (e.g. the program it starts exists and is executable). Throws ProcessorCannotStartError.
   * Called with options that validateOptions accepted, before the batch's first item.
   */
  readonly checkCanStart?: (options: Record<string, unknown>) => void;
}

export function defineProcessor<R>(
  process: ProcessorFn<R>,
  extra: Pick<Processor<R>, 'validateOptions' | 'checkCanStart'> = {},
): Processor<R> {
  return { process, validateOptions: extra.validateOptions, checkCanStart: extra.checkCanStart };
}

/** The item can never succeed (bad data): no more attempts, straight to the compensating record. */
export class NonRetryableItemError extends Error {
  constructor(
    message: string,
    readonly type = 'non-retryable',
  ) {
    super(message);
    this.name = 'NonRetryableItemError';
  }
}

/**
 * The processor's quota is used up. The whole batch waits `retryAfterMs` on a durable timer;
 * the item is not charged an attempt and is processed again after the wait.
 */
export class QuotaExhaustedError extends Error {
  constructor(
    readonly retryAfterMs: number,
    message = `quota exhausted; retry after ${retryAfterMs} ms`,
  ) {
    super(message);
    this.name = 'QuotaExhaustedError';
  }
}

/** Options of a processor that are wrong; thrown by validateOptions. */
export class ProcessorOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorOptionsError';
  }
}

/**
 * The processor cannot run on this worker at all (its program is missing or not executable):
 * every item would fail the same way, so the batch fails at once, non-retryably, with this message.
 */
export class ProcessorCannotStartError extends Error {
  constructor(
    message: string,
    /** True when the cause depends on this machine's PATH: another machine may have the program. */
    readonly lookedUpOnPath = false,
  ) {
    super(message);
    this.name = 'ProcessorCannotStartError';
  }
}
