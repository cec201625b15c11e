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
