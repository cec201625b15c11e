/**
 * One item through its processor: per-item timeout, attempts with exponential backoff, and the
 * sorting of errors into outcome, quota wait or slice cancellation.
 */
import type { BatchSpec } from '../spec/batch-spec';
import type { OutcomeToCommit } from '../ledger/ledger';
import type { SourceItem } from '../sources/source';
import { NonRetryableItemError, QuotaExhaustedError, type ItemLogger, type Processor } from '../processors/processor';
import { errorType } from '../processors/errors';

export type ItemRun = { kind: 'outcome'; outcome: OutcomeToCommit } | { kind: 'quota'; retryAfterMs: number };

/** Thrown when the slice is cancelled while an item runs; the item gets no outcome. */
export class SliceCancelledError extends Error {
  constructor() {
    super('slice cancelled');
    this.name = 'SliceCancelledError';
  }
}

class ItemTimeoutError extends Error {
  readonly type = 'timeout';
  constructor(ms: number) {
    super(`item did not finish within ${ms} ms (raise itemTimeoutMs in the spec if it needs longer)`);
    this.name = 'ItemTimeoutError';
  }
}

/** Failure messages are kept for people to read; a cap keeps one runaway error from bloating the ledger. */
const MAX_ERROR_MESSAGE = 8 * 1024;

export interface RunItemOptions {
  batchId: string;
  spec: BatchSpec;
  processor: Processor;
  log: ItemLogger;
  /** Aborted when the slice is cancelled (workflow cancel, worker shutdown). */
  sliceSignal: AbortSignal;
}

export async function runItem(item: SourceItem, opts: RunItemOptions): Promise<ItemRun> {
  const startedAt = Date.now();
  if (item.parseError !== undefined) {
    return failed(item.index, 'parse', item.parseError, 0, startedAt);
  }
  const { spec, sliceSignal } = opts;
  let lastError: unknown;
  for (let attempt = 1; attempt <= spec.itemAttempts; attempt++) {
    if (sliceSignal.aborted) throw new SliceCancelledError();
    try {
      const result = await attemptOnce(item, attempt, opts);
      let resultJson: string | undefined;
      try {
        resultJson = result === undefined ? undefined : JSON.stringify(result);
      } catch (err) {
        return failed(item.index, 'result-not-json', `the processor returned a result that is not JSON: ${messageOf(err)}`, attempt, startedAt);
      }
      return {
        kind: 'outcome',
        outcome: { index: item.index, status: 'succeeded', resultJson, attempts: attempt, startedAt, finishedAt: Date.now() },
      };
    } catch (err) {
      // A processor may answer the abort with an error of its own, and that may win the race:
      // once the slice is cancelled no error is the item's, or it would become a failure row.
      if (err instanceof SliceCancelledError || sliceSignal.aborted) throw new SliceCancelledError();
      if (err instanceof QuotaExhaustedError) return { kind: 'quota', retryAfterMs: err.retryAfterMs };
      if (err instanceof NonRetryableItemError) return failed(item.index, err.type, err.message, attempt, startedAt);
      lastError = err;
      if (attempt < spec.itemAttempts) await backoff(attempt, spec, sliceSignal);
    }
  }
  return failed(item.index, errorType(lastError), messageOf(lastError), spec.itemAttempts, startedAt);
}

async function attemptOnce(item: SourceItem, attempt: number, opts: RunItemOptions): Promise<unknown> {
  const { batchId, spec, processor, sliceSignal, log } = opts;
  // The item's AbortSignal is made only if the processor reads it: an AbortController per item
  // is a measurable share of a fast item's time, and many processors never look.
  let controller: AbortController | undefined;
  let stopReason: Error | undefined;
  let rejectStop!: (err: Error) => void;
  // A processor that ignores its signal must not hold the slice: the race moves on without it.
  const stopped = new Promise<never>((_, reject) => (rejectStop = reject));
  const stop = (err: Error) => {
    stopReason = err;
    controller?.abort(err);
    rejectStop(err);
  };
  const timer = setTimeout(() => stop(new ItemTimeoutError(spec.itemTimeoutMs)), spec.itemTimeoutMs);
  const onSliceAbort = () => stop(new SliceCancelledError());
  sliceSignal.addEventListener('abort', onSliceAbort, { once: true });
  try {
    const work = processor.process(item.value, {
      batchId,
      index: item.index,
      attempt,
      // A redrive keeps the key of the batch it redrives: downstream dedup sees the same item.
      idempotencyKey: `${spec.redriveOf ?? batchId}:${item.index}`,
      get signal() {
        if (!controller) {
          controller = new AbortController();
          if (stopReason) controller.abort(stopReason);
        }
        return controller.signal;
      },
      log,
      file: item.file,
      options: spec.processor.options ?? {},
    });
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    sliceSignal.removeEventListener('abort', onSliceAbort);
  }
}

function backoff(attempt: number, spec: BatchSpec, sliceSignal: AbortSignal): Promise<void> {
  const ms = Math.min(spec.itemBackoffMs * 2 ** (attempt - 1), spec.itemBackoffMaxMs);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SliceCancelledError());
    };
    const timer = setTimeout(() => {
      sliceSignal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    sliceSignal.addEventListener('abort', onAbort, { once: true });
  });
}

function failed(index: number, type: string, message: string, attempts: number, startedAt: number): ItemRun {
  return {
    kind: 'outcome',
    outcome: {
      index,
      status: 'failed',
      errorType: type,
      errorMessage: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message,
      attempts,
      startedAt,
      finishedAt: Date.now(),
    },
  };
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
