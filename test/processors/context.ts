import type { ItemLogger, ProcessorContext } from '../../src/processors/processor';

const silentLog: ItemLogger = { info() {}, warn() {}, error() {} };

/** A context as the slice runner builds it, for calling a processor directly. */
export function makeContext(overrides: Partial<ProcessorContext> = {}): ProcessorContext {
  const index = overrides.index ?? 0;
  return {
    batchId: 'batch-1',
    index,
    attempt: 1,
    idempotencyKey: `batch-1:${index}`,
    signal: new AbortController().signal,
    log: silentLog,
    options: {},
    reportUsage() {},
    ...overrides,
  };
}

/** A signal that aborts with `reason` after `ms`. */
export function abortAfter(ms: number, reason: Error): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms);
  return controller.signal;
}

export function abortedSignal(reason: Error): AbortSignal {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
}
