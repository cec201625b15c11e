/**
 * The ledger cannot be used as configured: a bad URL, a server that does not answer or refuses
 * the login, a schema from a newer waymark. Its message is for a person: it names the ledger
 * (a password masked) and says what to do.
 */
export class LedgerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerUnavailableError';
  }
}
