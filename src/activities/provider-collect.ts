/**
 * Collecting a provider job that ended: every result line mapped to its item by `custom_id`,
 * never by its place in the file (providers return them in any order), and each of the job's
 * items given its outcome once (I3):
 *
 * - an answer: succeeded, with what it used;
 * - an error the same request would meet again (a 4xx, invalid_request_error): a failure row;
 * - an error another job may not meet (rate limit, overloaded, 5xx, expired, cancelled, no line at
 *   all): sent again in a later job, unless the item has been in `itemAttempts` charged jobs,
 *   then a failure row with the last error; after a cancel waymark asked for, left pending.
 *
 * Then the job is marked collected. A worker killed in between collects it again: the outcomes
 * committed before stay as they are, the rest are committed now.
 */
import type { OutcomeToCommit, ProviderJob } from '../ledger/ledger';
import { itemBounds } from '../ledger/provider-jobs';
import { indexOf } from '../processors/provider-batch/custom-id';
import type { JobSnapshot, LineOutcome } from '../processors/provider-batch/provider-client';
import { addUsage, type Usage } from '../contract/usage';
import { commitRows, failedRow, succeededRow, type ProviderSliceContext } from './provider-context';

/** What a collection did, for the log and the rate limit's usage charge. */
export interface Collected {
  succeeded: number;
  failed: number;
  /** Items left for a later job. */
  again: number;
  /** Lines that named no item of the job: another batch's, or none. */
  foreign: number;
  usage: Usage;
}

/** Commits the outcomes of an ended job's items and marks it collected. */
export async function collectJob(ctx: ProviderSliceContext, job: ProviderJob, snapshot: JobSnapshot): Promise<Collected> {
  const { lines, foreign } = await readResults(ctx, job, snapshot);
  const rows = await outcomeRows(ctx, job, (index) => lines.get(index));
  const collected: Collected = { succeeded: 0, failed: 0, again: job.items.length - rows.length, foreign, usage: {} };
  for (const row of rows) {
    collected[row.status]++;
    if (row.usage) addUsage(collected.usage, row.usage);
  }
  await commitRows(ctx.session, rows);
  await ctx.ledger.updateProviderJob(ctx.session.batchId, job.key, { state: 'collected', status: snapshot.status, endedAt: Date.now() });
  ctx.log.info('provider job collected', { batchId: job.batchId, key: job.key, jobId: job.jobId, status: snapshot.status, ...collected });
  return collected;
}

async function readResults(
  ctx: ProviderSliceContext,
  job: ProviderJob,
  snapshot: JobSnapshot,
): Promise<{ lines: Map<number, LineOutcome>; foreign: number }> {
  const held = new Set(job.items);
  const lines = new Map<number, LineOutcome>();
  let foreign = 0;
  for await (const line of ctx.plan.client.results(snapshot)) {
    const index = indexOf(ctx.tag, line.customId);
    if (index === undefined || !held.has(index)) {
      foreign++;
      continue;
    }
    // An answer wins over an error line for the same request, whichever file came first.
    if (!lines.has(index) || 'result' in line.outcome) lines.set(index, line.outcome);
  }
  return { lines, foreign };
}

/**
 * The rows to commit for the job's items, from each item's line (`lineOf`): none for an item
 * that goes again. `attempts` counts the charged jobs the item was in, this one included.
 */
export async function outcomeRows(
  ctx: ProviderSliceContext,
  job: ProviderJob,
  lineOf: (index: number) => LineOutcome | undefined,
): Promise<OutcomeToCommit[]> {
  const before = await chargedBefore(ctx, job);
  const startedAt = job.submittedAt ?? job.intentAt;
  const rows: OutcomeToCommit[] = [];
  for (const index of job.items) {
    const attempts = (before.get(index) ?? 0) + (job.charged ? 1 : 0);
    const line = lineOf(index) ?? {
      error: { type: 'no-result', message: 'the job ended without a result for this request', retryable: true },
    };
    if ('result' in line) {
      rows.push(succeededRow(index, line.result, attempts, startedAt, line.usage));
      continue;
    }
    const { type, message, retryable } = line.error;
    if (!retryable) rows.push(failedRow(index, type, message, attempts, startedAt, line.usage));
    // A cancel the batch asked for leaves the rest pending: a redrive sends them.
    else if (job.cancelRequested) continue;
    else if (attempts >= ctx.spec.itemAttempts) {
      rows.push(
        failedRow(index, type, `${message} (in ${attempts} jobs, itemAttempts ${ctx.spec.itemAttempts})`, attempts, startedAt, line.usage),
      );
    }
  }
  return rows;
}

/** Per item of the job, the charged jobs collected before it that held it: its attempts so far. */
async function chargedBefore(ctx: ProviderSliceContext, job: ProviderJob): Promise<Map<number, number>> {
  const { first, end } = itemBounds(job.items);
  const counts = new Map<number, number>();
  for (const other of await ctx.ledger.providerJobs(job.batchId, first, end)) {
    if (other.key === job.key || !other.charged || other.state !== 'collected') continue;
    for (const index of other.items) counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  return counts;
}
