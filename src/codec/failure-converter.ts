/**
 * Failures with their message and stack trace moved into an encoded payload, so that with
 * encryption on they pass through the codec like any payload: a failure message can name a
 * source path or quote an item. The server then shows "Encoded failure" in their place.
 * Loaded by path (DataConverter.failureConverterPath): the workflow sandbox imports it too.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
