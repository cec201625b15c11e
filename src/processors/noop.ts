/** `noop`: does nothing and returns null; measures waymark's own overhead per item. */
import { defineProcessor } from './processor';
import { rejectUnknownOptions } from './options';

export const noopProcessor = defineProcessor(async () => null, {
  validateOptions: (options) => rejectUnknownOptions('noop', options, []),
});
