import { ServiceError } from '@temporalio/client';
import { unanswered, WORKER_ANSWER_MS } from '../../src/cli/worker-presence';

/** gRPC status codes (grpc-js is the client library's dependency, not ours). */
const status = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5 };

/** A gRPC failure as the client library wraps it: a ServiceError whose cause carries the status. */
function grpcFailure(code: number, details: string): Error {
  const cause = Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  return new ServiceError('Failed to query workflow', { cause });
}

describe('unanswered: a query or update no worker answered in time', () => {
  it('is a deadline that passed, however the gRPC library reports it', () => {
    const deadline = Date.now();
    expect(unanswered(grpcFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), deadline)).toBe(true);
    // The server ends the call at the deadline it was sent, a moment before the client's own timer.
    expect(unanswered(grpcFailure(status.CANCELLED, 'Call cancelled'), deadline + 200)).toBe(true);
  });

  it('is not a cancellation long before the deadline, nor a failure of its own', () => {
    const deadline = Date.now() + WORKER_ANSWER_MS;
    expect(unanswered(grpcFailure(status.CANCELLED, 'Call cancelled'), deadline)).toBe(false);
    expect(unanswered(grpcFailure(status.NOT_FOUND, 'workflow not found'), Date.now())).toBe(false);
    expect(unanswered(new Error('connection refused'), Date.now())).toBe(false);
  });
});
