/**
 * One item through its processor: per-item timeout, attempts with exponential backoff, and the
 * sorting of errors into outcome, quota wait, slice cancellation or (a processor that cannot
 * start here) slice failure.
 */
import type { BatchSpec } from '../contract/batch-spec';
import type { OutcomeToCommit } from '../ledger/ledger';
import type { SourceItem } from '../sources/source';
import { NonRetryableItemError, ProcessorCannotStartError, QuotaExhaustedError, type ItemLogger, type Processor } from '../processors/processor';
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

/** The attempt running now: what a timeout or the slice's cancellation stops. */
interface Attempt {
  deadline: number;
  /** Made only if the processor reads `ctx.signal`. */
  controller?: AbortController;
  stopReason?: Error;
  /** Settles the attempt with this error, whether or not the processor heeds its signal. */
  reject(err: Error): void;
}

/**
 * Runs one slice's items, one at a time. Everything that does not change from item to item is
 * set up once per slice, not per item: one listener on the slice's signal, one timeout timer that
 * re-arms itself for the running attempt's deadline. For a fast item, a timer, a listener and a
 * race of its own were a measurable share of its time (bench/notes.md).
 */
export class ItemRunner {
  private current: Attempt | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onSliceAbort = () => this.stop(new SliceCancelledError());
  private readonly onTimer = () => {
    this.timer = undefined;
    const attempt = this.current;
    if (!attempt) return;
    const left = attempt.deadline - performance.now();
    if (left <= 0) this.stop(new ItemTimeoutError(this.opts.spec.itemTimeoutMs));
    else this.timer = setTimeout(this.onTimer, Math.ceil(left));
  };

  constructor(private readonly opts: RunItemOptions) {
    opts.sliceSignal.addEventListener('abort', this.onSliceAbort, { once: true });
  }

  /** Stops listening and clears the timer: call once, when the slice is done with items. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.opts.sliceSignal.removeEventListener('abort', this.onSliceAbort);
  }

  async run(item: SourceItem): Promise<ItemRun> {
    const startedAt = Date.now();
    if (item.parseError !== undefined) {
      return failed(item.index, 'parse', item.parseError, 0, startedAt);
    }
    const { spec, sliceSignal } = this.opts;
    let lastError: unknown;
    for (let attempt = 1; attempt <= spec.itemAttempts; attempt++) {
      if (sliceSignal.aborted) throw new SliceCancelledError();
      try {
        const result = await this.attemptOnce(item, attempt);
        this.current = undefined;
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
        this.current = undefined;
        // A processor may answer the abort with an error of its own, and that may win the race:
        // once the slice is cancelled no error is the item's, or it would become a failure row.
        if (err instanceof SliceCancelledError || sliceSignal.aborted) throw new SliceCancelledError();
        if (err instanceof QuotaExhaustedError) return { kind: 'quota', retryAfterMs: err.retryAfterMs };
        if (err instanceof NonRetryableItemError) return failed(item.index, err.type, err.message, attempt, startedAt);
        // Not the item's fault and the same for every item: no attempts, no failure row; the slice fails.
        if (err instanceof ProcessorCannotStartError) throw err;
        lastError = err;
        if (attempt < spec.itemAttempts) await backoff(attempt, spec, sliceSignal);
      }
    }
    return failed(item.index, errorType(lastError), messageOf(lastError), spec.itemAttempts, startedAt);
  }

  private stop(err: Error): void {
    const attempt = this.current;
    if (!attempt || attempt.stopReason) return;
    attempt.stopReason = err;
    attempt.controller?.abort(err);
    attempt.reject(err);
  }

  private attemptOnce(item: SourceItem, attempt: number): Promise<unknown> {
    const { batchId, spec, processor, log } = this.opts;
    return new Promise((resolve, reject) => {
      const running: Attempt = { deadline: performance.now() + spec.itemTimeoutMs, reject };
      this.current = running;
      // Armed for an earlier attempt's deadline, the timer re-arms itself for this one when it fires.
      this.timer ??= setTimeout(this.onTimer, spec.itemTimeoutMs);
      // A processor that ignores its signal must not hold the slice: a stop settles the attempt without it.
      Promise.resolve(
        processor.process(item.value, {
          batchId,
          index: item.index,
          attempt,
          // A redrive keeps the key of the batch it redrives: downstream dedup sees the same item.
          idempotencyKey: `${spec.redriveOf ?? batchId}:${item.index}`,
          // The item's AbortSignal is made only if the processor reads it: an AbortController per
          // item is a measurable share of a fast item's time, and many processors never look.
          get signal() {
            if (!running.controller) {
              running.controller = new AbortController();
              if (running.stopReason) running.controller.abort(running.stopReason);
            }
            return running.controller.signal;
          },
          log,
          file: item.file,
          options: spec.processor.options ?? {},
        }),
      ).then(resolve, reject);
    });
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
