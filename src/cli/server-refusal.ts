/**
 * What the Temporal server said when it refused a request as invalid (gRPC INVALID_ARGUMENT): the
 * SDK's own error says only "Failed to list workflows" or "Failed to start Workflow", and the
 * server's reason (a malformed query, an id too long) sits in its cause.
 */
import { isGrpcServiceError } from '@temporalio/client';

/** gRPC's status code for a request the server refuses as invalid. */
const INVALID_ARGUMENT = 3;

export function serverRefusal(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (!isGrpcServiceError(e)) continue;
    // grpc-js's Status enum, read as the number it is, without depending on grpc-js directly.
    const code: number = e.code;
    if (code === INVALID_ARGUMENT) return e.details;
  }
  return undefined;
}
