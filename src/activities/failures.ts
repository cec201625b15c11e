import { ApplicationFailure } from '@temporalio/common';
import { SourceUnavailableError } from '../sources/source';
import { ProcessorCannotStartError, ProcessorOptionsError } from '../processors/processor';
import { UnknownProcessorError } from '../processors/registry';

/**
 * Errors that no retry can fix (a missing file, an unknown processor, bad options, a program
 * that cannot start on this worker) fail the batch at once with the message that says what to
 * fix; anything else is left retryable.
 */
export function toApplicationFailure(err: unknown): unknown {
  if (
    err instanceof SourceUnavailableError ||
    err instanceof ProcessorOptionsError ||
    err instanceof UnknownProcessorError ||
    err instanceof ProcessorCannotStartError
  ) {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}
