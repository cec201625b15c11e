import { ApplicationFailure } from '@temporalio/common';
import { SourceUnavailableError } from '../sources/source';
import { ProcessorOptionsError } from '../processors/processor';
import { UnknownProcessorError } from '../processors/registry';

/**
 * Errors that no retry can fix (a missing file, an unknown processor, bad options) fail the
 * batch at once with the message that says what to fix; anything else is left retryable.
 */
export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof SourceUnavailableError || err instanceof ProcessorOptionsError || err instanceof UnknownProcessorError) {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}
