/**
 * An activity that cannot reach its ledger says so in its failure, `ledger unreachable: REASON`,
 * of type LEDGER_UNREACHABLE: the Web UI shows it with the activity's attempts, and `waymark
 * status` and `--wait` read it from the batch's pending activities. Temporal retries the activity
 * (its retry policy waits at most 30 s), so the batch goes on by itself once the ledger answers.
 */
import { ApplicationFailure } from '@temporalio/common';
import { LedgerUnavailableError } from '../ledger/ledger-unavailable-error';
import { errorText, isConnectionFailure } from '../ledger/postgres/server-errors';
import { describeLedger } from '../ledger/open-ledger';

export const LEDGER_UNREACHABLE = 'LedgerUnreachable';
const PREFIX = 'ledger unreachable: ';

/** The failure to throw for an error that means the ledger cannot be reached; undefined for any other error. */
export function ledgerUnreachable(err: unknown): ApplicationFailure | undefined {
  let reason: string;
  if (err instanceof LedgerUnavailableError) reason = err.message;
  else if (isConnectionFailure(err)) reason = `${describeLedger()} does not answer (${errorText(err)})`;
  else return undefined;
  return ApplicationFailure.create({ message: `${PREFIX}${reason}`, type: LEDGER_UNREACHABLE, cause: err as Error });
}

/** The activity, with an unreachable ledger reported as such; any other error passes as it was. */
export function reportingLedger<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await activity(...args);
    } catch (err) {
      throw ledgerUnreachable(err) ?? err;
    }
  };
}

/** The reason of a LEDGER_UNREACHABLE failure's message, as status shows it after "ledger unreachable: ". */
export function unreachableReason(message: string): string {
  return message.startsWith(PREFIX) ? message.slice(PREFIX.length) : message;
}
