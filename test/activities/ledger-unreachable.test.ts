/**
 * Which activity errors mean "the ledger cannot be reached" (a failure `waymark status` and the
 * Web UI show as `ledger unreachable: REASON`), and which are the activity's own.
 */
import { Client } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { LEDGER_UNREACHABLE, ledgerUnreachable, reportingLedger } from '../../src/activities/ledger-unreachable';
import { LedgerUnavailableError } from '../../src/ledger/ledger-unavailable-error';
import { rejectionOf } from '../helpers/rejection';

describe('ledger unreachable', () => {
  it('reports a ledger that refuses connections, and one whose connection broke mid-query', async () => {
    const refused = await rejectionOf(new Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 }).connect());
    expect(ledgerUnreachable(refused)).toMatchObject({
      type: LEDGER_UNREACHABLE,
      message: expect.stringMatching(/^ledger unreachable: .* does not answer \(.*ECONNREFUSED/),
    });
    const broken = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    expect(ledgerUnreachable(broken)?.type).toBe(LEDGER_UNREACHABLE);
    expect(ledgerUnreachable(new Error('Connection terminated unexpectedly'))?.type).toBe(LEDGER_UNREACHABLE);
  });

  it('keeps the message of a ledger that cannot be used as configured', () => {
    const failure = ledgerUnreachable(
      new LedgerUnavailableError('cannot reach the PostgreSQL ledger at postgres://u:***@h/db (ENOTFOUND)'),
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure?.message).toBe('ledger unreachable: cannot reach the PostgreSQL ledger at postgres://u:***@h/db (ENOTFOUND)');
    expect(failure?.nonRetryable).toBeFalsy();
  });

  it("leaves an activity's own errors as they are: a query error, a bad item, anything else", async () => {
    const syntax = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    expect(ledgerUnreachable(syntax)).toBeUndefined();
    const own = new Error('source file changed');
    expect(await rejectionOf(reportingLedger(() => Promise.reject(own))())).toBe(own);
    await expect(reportingLedger(() => Promise.resolve(7))()).resolves.toBe(7);
  });
});
