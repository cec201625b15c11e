/**
 * What the parts of a provider slice share (provider-slice.ts): the ledger, the slice's session,
 * the spec, the provider's client and job limits, the batch's custom_id tag, and outcome rows.
 */
import type { Context } from '@temporalio/activity';
import type { BatchSpec } from '../contract/batch-spec';
import type { Usage } from '../contract/usage';
import type { Ledger, OutcomeToCommit } from '../ledger/ledger';
import type { ProviderBatchPlan } from '../processors/provider-batch/provider-client';
import type { SliceSession } from './slice-session';

export interface ProviderSliceContext {
  ledger: Ledger;
  session: SliceSession;
  spec: BatchSpec;
  plan: ProviderBatchPlan;
  /** The batch's part of its custom ids (custom-id.ts). */
  tag: string;
  log: Context['log'];
}

/** A failure row keeps this much of its message: a provider's message can be long. */
const MAX_MESSAGE = 2000;

export function succeededRow(index: number, result: unknown, attempts: number, startedAt: number, usage?: Usage): OutcomeToCommit {
  let resultJson: string | undefined;
  try {
    resultJson = result === undefined ? undefined : JSON.stringify(result);
  } catch (err) {
    return failedRow(index, 'result-not-json', `the answer is not JSON: ${(err as Error).message}`, attempts, startedAt, usage);
  }
  return { index, status: 'succeeded', resultJson, attempts, startedAt, finishedAt: Date.now(), ...(usage ? { usage } : {}) };
}

export function failedRow(
  index: number,
  errorType: string,
  message: string,
  attempts: number,
  startedAt: number,
  usage?: Usage,
): OutcomeToCommit {
  return {
    index,
    status: 'failed',
    errorType,
    errorMessage: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
    attempts,
    startedAt,
    finishedAt: Date.now(),
    ...(usage ? { usage } : {}),
  };
}

/** Commits outcome rows in groups: a job of 100,000 results is not one transaction. */
export async function commitRows(session: SliceSession, rows: OutcomeToCommit[]): Promise<void> {
  const GROUP = 5000;
  for (let i = 0; i < rows.length; i += GROUP) await session.commitCollected(rows.slice(i, i + GROUP));
}
