import { maskUrl } from '../../mask-secrets';

/** What went wrong, in a few words, from any error a connection or a query throws. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // A refused connection to a name with several addresses (localhost) is an AggregateError with no message.
  return err.message || (err as NodeJS.ErrnoException).code || err.name;
}

/** Says which server did not answer, why, and what to do about it. */
export function unreachableMessage(url: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  let hint = 'start the server (on a developer machine: scripts/postgres.sh start) or fix the URL in WAYMARK_LEDGER_URL';
  if (code === '28P01' || code === '28000' || /password|SASL/i.test(errorText(err))) {
    hint = 'check the user and password in WAYMARK_LEDGER_URL';
  } else if (code === '3D000') {
    hint = 'create the database (createdb NAME) or fix its name in WAYMARK_LEDGER_URL';
  }
  return `cannot reach the PostgreSQL ledger at ${maskUrl(url)} (${errorText(err)}); ${hint}`;
}

/** Node's errors for a server that cannot be reached, or a connection that broke. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * Whether a query failed because the server could not be reached or went away (not because of the
 * query): a connection error, a broken or timed-out connection, SQLSTATE class 08 (connection
 * exception), or a server shutting down or starting up (57P01-57P03).
 */
export function isConnectionFailure(err: unknown): boolean {
  // Read by shape, not instanceof: a socket error comes from Node's own realm, not always the caller's.
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  // A name with several addresses (localhost) fails with an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.some(isConnectionFailure)) return true;
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code))) return true;
  return typeof message === 'string' && /^Connection terminated|timeout exceeded when trying to connect/i.test(message);
}
