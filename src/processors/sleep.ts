/** `sleep`: waits `ms` milliseconds and returns null; stands in for slow work in demos and tests. */
import { defineProcessor } from './processor';
import { integerOption, rejectUnknownOptions } from './options';

const DEFAULT_MS = 1;

function sleepMs(options: Record<string, unknown>): number {
  rejectUnknownOptions('sleep', options, ['ms']);
  return integerOption('sleep', options, 'ms', 0, 'milliseconds') ?? DEFAULT_MS;
}

/** Rejects with the signal's reason as soon as it is aborted, like fetch and other Node APIs. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const sleepProcessor = defineProcessor(
  async (_item, ctx) => {
    await wait(sleepMs(ctx.options), ctx.signal);
    return null;
  },
  { validateOptions: (options) => void sleepMs(options) },
);
