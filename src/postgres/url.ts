/** PostgreSQL connection URLs, for every part of waymark that takes one (the ledger, a table source). */

export const NOT_A_URL = 'is not a valid URL';

/** What is wrong with a PostgreSQL connection URL, as the end of a sentence about it; undefined when nothing is. */
export function postgresUrlProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return NOT_A_URL;
  }
  return protocol === 'postgres:' || protocol === 'postgresql:' ? undefined : 'is not a postgres:// or postgresql:// URL';
}
