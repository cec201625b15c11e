/**
 * What a processor is: an async function from one item to a result, plus the errors it may
 * throw to steer what waymark does with the item.
 */

import type { Usage } from '../contract/usage';
import type { ProviderBatchPlan } from './provider-batch/provider-client';

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
  /**
   * Reports what the item used, by unit: `ctx.reportUsage({ tokens: 1234, costUsd: 0.002 })`.
   * Reports add up, over calls and over the item's attempts (a failed attempt's tokens are spent
   * too), and are committed with the item's outcome. A report that is not a flat object of
   * non-negative finite numbers is logged as a warning and left out: it never costs the item.
   */
  reportUsage(usage: Usage): void;
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
  /**
   * Many items in one call (the spec's `itemsPerCall`), for processors whose start-up or round
   * trip costs more than an item: one outcome per item, in the order given.
   */
  readonly processBatch?: BatchProcessorFn;
  /**
   * A processor that sends items to a provider's batch API (`openai-batch`, `anthropic-batch`):
   * its slices submit jobs and collect them (src/activities/provider-slice.ts) instead of running
   * items one by one, and `process` is never called. Given options that validateOptions accepted.
   */
  readonly providerBatch?: (options: Record<string, unknown>) => ProviderBatchPlan;
}

/** One item of a call to a batch processor: what ProcessorContext says about a single item. */
export interface CallItem {
  item: unknown;
  index: number;
  attempt: number;
  idempotencyKey: string;
  file?: string;
}

/** What a call's items share: the batch, the call's signal (aborted on the call's timeout), log and options. */
export type CallContext = Pick<ProcessorContext, 'batchId' | 'signal' | 'log' | 'options'>;

/**
 * One item's outcome in a call: its result, or the error it would have thrown alone
 * (NonRetryableItemError, QuotaExhaustedError, anything else for a retryable failure), and what
 * it used, as ProcessorContext.reportUsage takes it.
 */
export type ItemOutcome = ({ result: unknown } | { error: unknown }) & { usage?: Usage };

/** A call fails as a whole by throwing: that counts an attempt against each of its items. */
export type BatchProcessorFn = (items: CallItem[], ctx: CallContext) => Promise<ItemOutcome[]>;

export function defineProcessor<R>(
  process: ProcessorFn<R>,
  extra: Pick<Processor<R>, 'validateOptions' | 'checkCanStart'> = {},
): Processor<R> {
  return { process, validateOptions: extra.validateOptions, checkCanStart: extra.checkCanStart };
}

/**
 * A processor that takes many items per call. Its `process` (one item, used when itemsPerCall
 * is 1 and for suspect items) is a call of one.
 */
export function defineBatchProcessor(
  processBatch: BatchProcessorFn,
  extra: Pick<Processor, 'validateOptions' | 'checkCanStart'> = {},
): Processor {
  const process: ProcessorFn = async (item, ctx) => {
    const outcome = callOutcomes(
      await processBatch([{ item, index: ctx.index, attempt: ctx.attempt, idempotencyKey: ctx.idempotencyKey, file: ctx.file }], ctx),
      1,
    )[0];
    if (outcome.usage !== undefined) ctx.reportUsage(outcome.usage);
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  };
  return { process, processBatch, validateOptions: extra.validateOptions, checkCanStart: extra.checkCanStart };
}

/** A call's outcomes, checked to be one per item: anything else fails the call as a whole. */
export function callOutcomes(outcomes: unknown, items: number): ItemOutcome[] {
  if (!Array.isArray(outcomes) || outcomes.length !== items) {
    throw new Error(
      `the batch processor returned ${Array.isArray(outcomes) ? `${outcomes.length} outcomes` : 'no array'} for a call of ${items} item(s); return one { result } or { error } per item, in order`,
    );
  }
  for (const outcome of outcomes) {
    if (typeof outcome !== 'object' || outcome === null || !('result' in outcome || 'error' in outcome)) {
      throw new Error(
        `the batch processor returned an outcome that is neither { result } nor { error }: ${String(JSON.stringify(outcome)).slice(0, 200)}`,
      );
    }
  }
  return outcomes as ItemOutcome[];
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
 * the item is not charged an attempt and is processed again after the wait. `signal` names what
 * said so in a few words (`http 429`, `exit 75`): status shows it as the cause of a cut of
 * adaptive lanes; a processor that gives none is shown by the error's name.
 */
export class QuotaExhaustedError extends Error {
  constructor(
    readonly retryAfterMs: number,
    message = `quota exhausted; retry after ${retryAfterMs} ms`,
    readonly signal?: string,
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
