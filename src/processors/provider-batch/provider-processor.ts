/**
 * A provider batch processor: options checked like any processor's, and a plan (client and job
 * limits) for the provider slice, which submits and collects jobs instead of running items one at
 * a time. Its `process` is never called by waymark; a program that calls it directly is told so.
 */
import { NonRetryableItemError, type Processor } from '../processor';
import type { ProviderClient } from './provider-client';
import { checkEnv } from './provider-http';
import { parseProviderOptions, type ProviderDefaults, type ProviderOptions } from './provider-options';

export function defineProviderBatchProcessor(
  defaults: ProviderDefaults,
  newClient: (options: ProviderOptions) => ProviderClient,
  /** Checks of the options only this provider takes, throwing ProcessorOptionsError. */
  checkExtra: (options: ProviderOptions) => void = () => undefined,
): Processor {
  const parse = (raw: Record<string, unknown>): ProviderOptions => {
    const options = parseProviderOptions(defaults, raw);
    checkExtra(options);
    return options;
  };
  return {
    process: () =>
      Promise.reject(
        new NonRetryableItemError(
          `processor "${defaults.processor}" sends items to the provider's batch API in jobs, from a batch's slices; it does not process one item on its own`,
          'provider-batch-only',
        ),
      ),
    validateOptions: (options) => void parse(options),
    checkCanStart: (options) => checkEnv(defaults.processor, parse(options)),
    providerBatch: (raw) => {
      const options = parse(raw);
      return {
        client: newClient(options),
        pollIntervalMs: options.pollIntervalMs,
        maxRequestsPerJob: options.maxRequestsPerJob,
        maxBytesPerJob: options.maxBytesPerJob,
      };
    },
  };
}
