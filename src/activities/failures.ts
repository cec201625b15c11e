import { ApplicationFailure } from '@temporalio/common';
import { SourceUnavailableError } from '../sources/source';
import { ProcessorCannotStartError, ProcessorOptionsError } from '../processors/processor';
import { UnknownProcessorError } from '../processors/registry';
import { BatchIdReusedError } from './batch-identity';

/**
 * Errors that no retry can fix (a missing file, an unknown processor, bad options, a program
 * that cannot start on this worker, a reused batch id) fail the batch at once with the message
 * that says what to fix; anything else is left retryable.
 */
export function toApplicationFailure(err: unknown): unknown {
  if (
    err instanceof SourceUnavailableError ||
    err instanceof ProcessorOptionsError ||
    err instanceof UnknownProcessorError ||
    err instanceof ProcessorCannotStartError ||
    err instanceof BatchIdReusedError
  ) {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}
