/**
 * One item through its processor: per-item timeout, attempts with exponential backoff, and the
 * sorting of errors into outcome, quota wait, slice cancellation or (a processor that cannot
 * start here) slice failure.
 *
 * Over 400 lines: each error an attempt can end in is sorted here, in one place, so that every
 * processor's errors mean the same outcome.
 */
import type { BatchSpec } from '../contract/batch-spec';
import type { OutcomeToCommit } from '../ledger/ledger';
import type { SourceItem } from '../sources/source';
import {
  callOutcomes,
  NonRetryableItemError,
  ProcessorCannotStartError,
  QuotaExhaustedError,
  type ItemLogger,
  type ItemOutcome,
  type Processor,
} from '../processors/processor';
import { errorType } from '../processors/errors';
import { addUsage, usageProblem, type Usage } from '../contract/usage';
import type { Pacer } from './pacer';

/**
 * A stop for quota: how long to wait and, in a batch with a named rate limit, why: `pacedOn`
 * the key whose rate has no token for that long, `heldOn` the key a quota signal holds.
 */
export interface QuotaStop {
  retryAfterMs: number;
  pacedOn?: string;
  heldOn?: string;
  /**
   * Set when the processor itself met a quota signal (not a rate limit's pace, nor a hold another
   * item met): what it was, e.g. `http 429`. Adaptive lanes are cut on it (adaptive-lanes.ts).
   */
  signal?: string;
}

export type ItemRun = { kind: 'outcome'; outcome: OutcomeToCommit } | ({ kind: 'quota' } & QuotaStop);

/**
 * A call's items: the outcomes of its first items, in index order with no gap (all of them,
 * unless a quota signal stopped the call), and the quota wait with the first item left to do.
 */
export interface CallRun {
  outcomes: OutcomeToCommit[];
  quota?: QuotaStop & { nextIndex: number };
}

/** Thrown when the slice is cancelled while an item runs; the item gets no outcome. */
export class SliceCancelledError extends Error {
  constructor() {
    super('slice cancelled');
    this.name = 'SliceCancelledError';
  }
}

class ItemTimeoutError extends Error {
  readonly type = 'timeout';
  constructor(ms: number, items = 1) {
    super(
      items === 1
        ? `item did not finish within ${ms} ms (raise itemTimeoutMs in the spec if it needs longer)`
        : `the call of ${items} items did not finish within ${ms} ms (itemTimeoutMs for each of its items; raise itemTimeoutMs in the spec if it needs longer)`,
    );
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
  /** The batch's named rate limit, when it has one: each item takes a token before it starts. */
  pacer?: Pacer;
  /**
   * Aborted by any cancellation of the activity, a worker shutting down included (the slice's
   * signal is not): a wait for a token, before the item started, ends at once.
   */
  activitySignal?: AbortSignal;
}

/** The attempt running now: what a timeout or the slice's cancellation stops. */
interface Attempt {
  deadline: number;
  /** Items in the attempt: a call's timeout is itemTimeoutMs for each. */
  items: number;
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
    if (left <= 0) this.stop(new ItemTimeoutError(this.opts.spec.itemTimeoutMs * attempt.items, attempt.items));
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

  /** Runs the item's attempts; what they reported using goes with its outcome. */
  async run(item: SourceItem): Promise<ItemRun> {
    const usage: Usage = {};
    const run = await this.runAttempts(item, usage);
    if (run.kind === 'outcome' && Object.keys(usage).length > 0) run.outcome.usage = usage;
    // A limit on a usage unit counts the item now it has ended (INVARIANTS.md I13).
    if (run.kind === 'outcome' && this.opts.pacer) await this.opts.pacer.charge(usage);
    return run;
  }

  private async runAttempts(item: SourceItem, usage: Usage): Promise<ItemRun> {
    if (item.parseError !== undefined) {
      return failed(item.index, 'parse', item.parseError, 0, Date.now());
    }
    // Without a rate limit, no await on every item's path.
    const paced = this.opts.pacer ? await this.waitForToken() : undefined;
    if (paced) return { kind: 'quota', ...paced };
    const startedAt = Date.now();
    const { spec, sliceSignal } = this.opts;
    let lastError: unknown;
    for (let attempt = 1; attempt <= spec.itemAttempts; attempt++) {
      if (sliceSignal.aborted) throw new SliceCancelledError();
      try {
        const result = await this.attemptOnce(item, attempt, usage);
        this.current = undefined;
        return { kind: 'outcome', outcome: succeeded(item.index, result, attempt, startedAt) };
      } catch (err) {
        this.current = undefined;
        // A processor may answer the abort with an error of its own, and that may win the race:
        // once the slice is cancelled no error is the item's, or it would become a failure row.
        if (err instanceof SliceCancelledError || sliceSignal.aborted) throw new SliceCancelledError();
        if (err instanceof QuotaExhaustedError) return { kind: 'quota', ...(await this.holdForQuota(err)) };
        if (err instanceof NonRetryableItemError) return failed(item.index, err.type, err.message, attempt, startedAt);
        // Not the item's fault and the same for every item: no attempts, no failure row; the slice fails.
        if (err instanceof ProcessorCannotStartError) throw err;
        lastError = err;
        if (attempt < spec.itemAttempts) await backoff(attempt, spec, sliceSignal);
      }
    }
    return failed(item.index, errorType(lastError), messageOf(lastError), spec.itemAttempts, startedAt);
  }

  /**
   * Runs a call of many items through the processor's processBatch. Each item keeps its own
   * attempts and outcome: items that fail retryably go again in the next call (after backoff),
   * with the others that are left; a call that fails as a whole charges an attempt to each of
   * its items. The call's timeout is itemTimeoutMs for each of its items.
   */
  async runCall(items: SourceItem[]): Promise<CallRun> {
    // Every item that reaches the processor takes its token first. Should one wait too long, the
    // call does not start, and the tokens its first items took are dropped (at most M - 1).
    for (const item of items) {
      const paced = item.parseError === undefined ? await this.waitForToken() : undefined;
      if (paced) return { outcomes: [], quota: { ...paced, nextIndex: items[0].index } };
    }
    const startedAt = Date.now();
    const { spec, sliceSignal } = this.opts;
    const states = items.map((item) => ({
      item,
      attempts: 0,
      usage: {},
      outcome: item.parseError === undefined ? undefined : failedOutcome(item.index, 'parse', item.parseError, 0, startedAt),
    }));
    let retryAfterMs: number | undefined;
    let signal: QuotaExhaustedError | undefined;
    for (;;) {
      const open = states.filter((s) => s.outcome === undefined);
      if (open.length === 0) break;
      if (sliceSignal.aborted) throw new SliceCancelledError();
      let outcomes: ItemOutcome[] | undefined;
      let callError: unknown;
      try {
        outcomes = callOutcomes(await this.callOnce(open), open.length);
      } catch (err) {
        callError = err;
      }
      this.current = undefined;
      if (callError instanceof SliceCancelledError || sliceSignal.aborted) throw new SliceCancelledError();
      if (callError instanceof ProcessorCannotStartError) throw callError;
      if (callError instanceof QuotaExhaustedError) {
        retryAfterMs = callError.retryAfterMs;
        signal = callError;
        break;
      }
      for (let i = 0; i < open.length; i++) {
        const state = open[i];
        const outcome = outcomes?.[i];
        if (outcome?.usage !== undefined) this.addReported(state.usage, outcome.usage, state.item.index);
        if (outcome !== undefined && !('error' in outcome)) {
          state.outcome = succeeded(state.item.index, outcome.result, ++state.attempts, startedAt);
          continue;
        }
        const err = outcome === undefined ? callError : outcome.error;
        if (err instanceof ProcessorCannotStartError) throw err;
        // A quota signal spends no attempt: the item waits with the batch.
        if (err instanceof QuotaExhaustedError) {
          retryAfterMs = Math.max(retryAfterMs ?? 0, err.retryAfterMs);
          signal ??= err;
          continue;
        }
        state.attempts++;
        if (err instanceof NonRetryableItemError)
          state.outcome = failedOutcome(state.item.index, err.type, err.message, state.attempts, startedAt);
        else if (state.attempts >= spec.itemAttempts)
          state.outcome = failedOutcome(state.item.index, errorType(err), messageOf(err), state.attempts, startedAt);
      }
      if (retryAfterMs !== undefined) break;
      const retried = states.filter((s) => s.outcome === undefined);
      if (retried.length > 0) await backoff(Math.min(...retried.map((s) => s.attempts)), spec, sliceSignal);
    }
    // A commit group holds outcomes in index order with no gap; after a quota signal the rest waits.
    const outcomes: OutcomeToCommit[] = [];
    for (const state of states) {
      if (state.outcome === undefined) {
        return { outcomes, quota: { ...(await this.holdForQuota(signal!, retryAfterMs)), nextIndex: state.item.index } };
      }
      if (Object.keys(state.usage).length > 0) state.outcome.usage = state.usage;
      outcomes.push(state.outcome);
    }
    if (this.opts.pacer) await this.opts.pacer.charge(outcomes.reduce<Usage>((sum, o) => addUsage(sum, o.usage ?? {}), {}));
    return { outcomes };
  }

  /**
   * The item's token from the batch's rate limit (INVARIANTS.md I13). A wait up to the heartbeat
   * timeout is slept here, the session heartbeating meanwhile; a longer one is returned, so the
   * slice stops as for quota and the workflow waits on a durable timer: a per-hour or per-day
   * limit never keeps a slice open for hours.
   */
  private async waitForToken(): Promise<QuotaStop | undefined> {
    const { pacer, spec, sliceSignal, activitySignal = sliceSignal } = this.opts;
    if (pacer === undefined) return undefined;
    for (;;) {
      if (sliceSignal.aborted) throw new SliceCancelledError();
      const wait = await pacer.acquire();
      if (wait === undefined) return undefined;
      const stop = (retryAfterMs: number): QuotaStop => ({ retryAfterMs, ...(wait.held ? { heldOn: wait.key } : { pacedOn: wait.key }) });
      if (wait.waitMs > spec.heartbeatTimeoutMs) return stop(wait.waitMs);
      const until = Date.now() + wait.waitMs;
      if (!(await sleepUnlessAborted(wait.waitMs, activitySignal))) {
        if (sliceSignal.aborted) throw new SliceCancelledError();
        // The worker is shutting down and the item has not started: the slice stops as for
        // quota, nothing in flight and nothing to redo, and goes on elsewhere after the wait.
        return stop(Math.max(1, until - Date.now()));
      }
    }
  }

  /**
   * A quota signal from the processor. With a named rate limit it holds the key in the ledger,
   * so every batch and worker that names it waits too (INVARIANTS.md I7, I13).
   */
  private async holdForQuota(err: QuotaExhaustedError, retryAfterMs = err.retryAfterMs): Promise<QuotaStop> {
    const { pacer } = this.opts;
    const signal = err.signal ?? err.name;
    if (pacer === undefined) return { retryAfterMs, signal };
    await pacer.hold(retryAfterMs);
    return { retryAfterMs, heldOn: pacer.key, signal };
  }

  private callOnce(open: Array<{ item: SourceItem; attempts: number }>): Promise<ItemOutcome[]> {
    const { batchId, spec, processor, log } = this.opts;
    return new Promise((resolve, reject) => {
      const running: Attempt = { deadline: performance.now() + spec.itemTimeoutMs * open.length, items: open.length, reject };
      this.current = running;
      this.timer ??= setTimeout(this.onTimer, spec.itemTimeoutMs);
      Promise.resolve(
        processor.processBatch!(
          open.map(({ item, attempts }) => ({
            item: item.value,
            index: item.index,
            attempt: attempts + 1,
            idempotencyKey: `${spec.redriveOf ?? batchId}:${item.index}`,
            file: item.file,
          })),
          {
            batchId,
            get signal() {
              if (!running.controller) {
                running.controller = new AbortController();
                if (running.stopReason) running.controller.abort(running.stopReason);
              }
              return running.controller.signal;
            },
            log,
            options: spec.processor.options ?? {},
          },
        ),
      ).then(resolve, reject);
    });
  }

  /**
   * Adds a processor's usage report to the item's, or logs why it cannot: a bad report is the
   * processor's mistake, not the item's, so it costs the item nothing but the report.
   */
  private addReported(into: Usage, reported: unknown, index: number): void {
    const problem = usageProblem(reported);
    if (problem === undefined) {
      addUsage(into, reported as Usage);
      return;
    }
    this.opts.log.warn(`item ${index}: the processor reported usage that waymark leaves out: ${problem}. Fix what the processor reports`, {
      batchId: this.opts.batchId,
      index,
    });
  }

  private stop(err: Error): void {
    const attempt = this.current;
    if (!attempt || attempt.stopReason) return;
    attempt.stopReason = err;
    attempt.controller?.abort(err);
    attempt.reject(err);
  }

  private attemptOnce(item: SourceItem, attempt: number, usage: Usage): Promise<unknown> {
    const { batchId, spec, processor, log } = this.opts;
    return new Promise((resolve, reject) => {
      const running: Attempt = { deadline: performance.now() + spec.itemTimeoutMs, items: 1, reject };
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
          reportUsage: (reported) => this.addReported(usage, reported, item.index),
        }),
      ).then(resolve, reject);
    });
  }
}

function backoff(attempt: number, spec: BatchSpec, sliceSignal: AbortSignal): Promise<void> {
  return sleepUnlessCancelled(Math.min(spec.itemBackoffMs * 2 ** (attempt - 1), spec.itemBackoffMaxMs), sliceSignal);
}

/** Sleeps `ms`; a cancellation of the slice ends the sleep with SliceCancelledError. */
async function sleepUnlessCancelled(ms: number, sliceSignal: AbortSignal): Promise<void> {
  if (!(await sleepUnlessAborted(ms, sliceSignal))) throw new SliceCancelledError();
}

/** Sleeps `ms`, or less when `signal` aborts first: true when it slept all of it. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function succeeded(index: number, result: unknown, attempts: number, startedAt: number): OutcomeToCommit {
  let resultJson: string | undefined;
  try {
    resultJson = result === undefined ? undefined : JSON.stringify(result);
  } catch (err) {
    return failedOutcome(
      index,
      'result-not-json',
      `the processor returned a result that is not JSON: ${messageOf(err)}`,
      attempts,
      startedAt,
    );
  }
  return { index, status: 'succeeded', resultJson, attempts, startedAt, finishedAt: Date.now() };
}

function failed(index: number, type: string, message: string, attempts: number, startedAt: number): ItemRun {
  return { kind: 'outcome', outcome: failedOutcome(index, type, message, attempts, startedAt) };
}

function failedOutcome(index: number, type: string, message: string, attempts: number, startedAt: number): OutcomeToCommit {
  return {
    index,
    status: 'failed',
    errorType: type,
    errorMessage: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message,
    attempts,
    startedAt,
    finishedAt: Date.now(),
  };
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
