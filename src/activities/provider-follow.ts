/**
 * Following up a slice's provider jobs at each pass (INVARIANTS.md I17): a job is followed up by
 * the slice that holds its first item, whichever attempt or workflow run recorded it. By the
 * state its row was left in:
 *
 * - intent, uploaded: its submission stopped before the create was sent (the step before a create
 *   is recorded first), so no job exists: taken over, its input file deleted, abandoned; its items
 *   are sent again;
 * - creating: a create may have reached the provider. It is looked for (OpenAI: by its key in the
 *   metadata; Anthropic: by listing, then by its results' custom_ids once it ended) and adopted if
 *   found. If not, the input file is deleted (so a create still on its way fails) and it is looked
 *   for once more at least a poll later and SETTLE_POLLS intervals after the create, before it is
 *   abandoned;
 * - submitted: polled; cancelled at the provider when the batch is cancelled or stopped; collected
 *   once it ended (provider-collect.ts). A 404 just after a create, or an ended job whose result
 *   files are not there yet, is polled again, up to MAX_ODD_POLLS times in a row.
 */
import type { ProviderJobsMode } from '../contract/activity-io';
import type { ProviderJob } from '../ledger/ledger';
import { ProviderCallError, type JobSnapshot } from '../processors/provider-batch/provider-client';
import { collectJob, outcomeRows } from './provider-collect';
import { indexOf } from '../processors/provider-batch/custom-id';
import { commitRows, type ProviderSliceContext } from './provider-context';
import { cannotSend } from './provider-submit';
import { chargeCollected } from './provider-gate';

/** Odd polls in a row (a 404 after create, an ended job without its files) before the job is taken as it is. */
export const MAX_ODD_POLLS = 10;
/** A create not found this many poll intervals after it was sent, and once more after its input file was deleted, never happened. */
const SETTLE_POLLS = 2;

/** What following a job up found: whether it still holds its items, and a quota wait it met. */
export interface Followed {
  live: boolean;
  quotaWaitMs?: number;
}

const LIVE: Followed = { live: true };
const ENDED: Followed = { live: false };

export async function followJob(ctx: ProviderSliceContext, job: ProviderJob, mode: ProviderJobsMode): Promise<Followed> {
  try {
    switch (job.state) {
      case 'intent':
      case 'uploaded':
        return await abandonUnsent(ctx, job);
      case 'creating':
        return await findLost(ctx, job, mode);
      case 'submitted':
        return await pollJob(ctx, job, mode);
      default:
        return ENDED;
    }
  } catch (err) {
    if (!(err instanceof ProviderCallError)) throw err;
    if (err.kind === 'credentials' || err.kind === 'refused') throw cannotSend(ctx.plan.client.provider, err.message);
    // The provider did not answer as it should (5xx, the network, a 429): the job is followed up at the next pass.
    ctx.log.warn('provider job not followed up this time', { batchId: job.batchId, key: job.key, jobId: job.jobId, problem: err.message });
    return err.kind === 'quota' ? { live: true, quotaWaitMs: err.retryAfterMs } : LIVE;
  }
}

async function abandonUnsent(ctx: ProviderSliceContext, job: ProviderJob): Promise<Followed> {
  const { ledger, session, plan } = ctx;
  await ledger.takeProviderJob(job.batchId, job.key, session.owner);
  if (job.fileId !== undefined) await plan.client.discardUpload?.(job.fileId);
  await ledger.updateProviderJob(job.batchId, job.key, { state: 'abandoned', charged: false, endedAt: Date.now() }, session.owner);
  ctx.log.info('provider job abandoned before its create: its items go again', { batchId: job.batchId, key: job.key });
  return ENDED;
}

async function findLost(ctx: ProviderSliceContext, job: ProviderJob, mode: ProviderJobsMode): Promise<Followed> {
  const { ledger, session, plan } = ctx;
  const { client } = plan;
  await ledger.takeProviderJob(job.batchId, job.key, session.owner);
  const creatingAt = job.creatingAt ?? job.intentAt;
  const held = new Set(job.items);
  const holds = (id: unknown) => {
    const index = indexOf(ctx.tag, id);
    return index !== undefined && held.has(index);
  };
  const found = await client.find({ key: job.key, batchId: job.batchId, creatingAt, requests: job.items.length, holds }, (ids) =>
    ledger.recordedProviderJobIds(client.provider, ids),
  );
  if ('found' in found) {
    const change = { state: 'submitted' as const, jobId: found.found, status: 'submitted', submittedAt: Date.now(), oddPolls: 0 };
    await ledger.updateProviderJob(job.batchId, job.key, change, session.owner);
    ctx.log.info('provider job found again after its create went unrecorded', { batchId: job.batchId, key: job.key, jobId: found.found });
    return pollJob(ctx, { ...job, ...change }, mode);
  }
  if ('ambiguous' in found) {
    ctx.log.warn('provider jobs that may be a lost create cannot be told apart yet; looking again later', {
      key: job.key,
      jobs: found.ambiguous,
    });
    return LIVE;
  }
  const settled = Date.now() - creatingAt >= SETTLE_POLLS * plan.pollIntervalMs;
  if (job.oddPolls === 0 || !settled) {
    // A create still on its way with this file now fails: after this, the listing can only lose sight of a job it showed, never gain one.
    if (job.fileId !== undefined) await client.discardUpload?.(job.fileId);
    await ledger.updateProviderJob(job.batchId, job.key, { oddPolls: job.oddPolls + 1 }, session.owner);
    return LIVE;
  }
  await ledger.updateProviderJob(job.batchId, job.key, { state: 'abandoned', charged: false, endedAt: Date.now() }, session.owner);
  ctx.log.info('provider job never created: its items go again', { batchId: job.batchId, key: job.key });
  return ENDED;
}

async function pollJob(ctx: ProviderSliceContext, job: ProviderJob, mode: ProviderJobsMode): Promise<Followed> {
  const { ledger, plan } = ctx;
  let snapshot: JobSnapshot;
  try {
    snapshot = await plan.client.poll(job.jobId!);
  } catch (err) {
    if (err instanceof ProviderCallError && err.kind === 'not-found') return oddPoll(ctx, job, 'not found');
    throw err;
  }
  if (mode === 'cancel' && !snapshot.ended && !job.cancelRequested) {
    await plan.client.cancel(job.jobId!);
    await ledger.updateProviderJob(job.batchId, job.key, { cancelRequested: true });
    job = { ...job, cancelRequested: true };
    ctx.log.info('provider job cancelled: its finished requests are collected once it ends', { key: job.key, jobId: job.jobId });
  }
  if (!snapshot.ended) {
    if (snapshot.status !== job.status || job.oddPolls > 0)
      await ledger.updateProviderJob(job.batchId, job.key, { status: snapshot.status, oddPolls: 0 });
    return LIVE;
  }
  if (snapshot.refused !== undefined) return refused(ctx, job, snapshot);
  if (snapshot.resultsPending && job.oddPolls < MAX_ODD_POLLS) return oddPoll(ctx, job, `${snapshot.status} without its result files yet`);
  try {
    const collected = await collectJob(ctx, job, snapshot);
    await chargeCollected(ctx, collected.usage);
  } catch (err) {
    if (err instanceof ProviderCallError && err.kind === 'not-found' && job.oddPolls < MAX_ODD_POLLS)
      return oddPoll(ctx, job, 'results not found');
    throw err;
  }
  return ENDED;
}

/**
 * A poll found the job odd: polled again, up to MAX_ODD_POLLS times in a row; then a job not
 * found is lost, and one without its files is collected as it is.
 */
async function oddPoll(ctx: ProviderSliceContext, job: ProviderJob, what: string): Promise<Followed> {
  const oddPolls = job.oddPolls + 1;
  if (what === 'not found' && oddPolls > MAX_ODD_POLLS) {
    // Gone at the provider (deleted, or a base URL that lost it): its items go again, uncharged.
    await ctx.ledger.updateProviderJob(job.batchId, job.key, {
      state: 'collected',
      status: 'not-found',
      charged: false,
      endedAt: Date.now(),
    });
    ctx.log.warn('provider job not found in polls in a row: its items go again', { key: job.key, jobId: job.jobId, polls: oddPolls });
    return ENDED;
  }
  await ctx.ledger.updateProviderJob(job.batchId, job.key, { oddPolls, status: job.status ?? 'submitted' });
  ctx.log.info(`provider job ${what}; polled again later`, { key: job.key, jobId: job.jobId, oddPolls });
  return LIVE;
}

/**
 * A job that ended refused as a whole ran none of its requests, so it is no attempt of theirs:
 * named lines are failure rows, the others go again; an enqueued-token limit is a quota wait; a
 * refusal that names no line would meet every job, and stops the batch.
 */
async function refused(ctx: ProviderSliceContext, job: ProviderJob, snapshot: JobSnapshot): Promise<Followed> {
  const refusal = snapshot.refused!;
  const uncharged = { ...job, charged: false };
  const close = () =>
    ctx.ledger.updateProviderJob(job.batchId, job.key, {
      state: 'collected',
      status: snapshot.status,
      charged: false,
      endedAt: Date.now(),
    });
  if (refusal.quota) {
    await close();
    ctx.log.info('provider job refused at its enqueued-token limit: a quota wait', { key: job.key, jobId: job.jobId });
    return { live: false, quotaWaitMs: ctx.plan.pollIntervalMs };
  }
  if (refusal.lines.length === 0) {
    await close();
    throw cannotSend(ctx.plan.client.provider, `job ${job.jobId} ${snapshot.status}: ${refusal.message}`);
  }
  const named = new Map(refusal.lines.filter((l) => l.position < job.items.length).map((l) => [job.items[l.position], l]));
  const rows = await outcomeRows(ctx, uncharged, (index) => {
    const line = named.get(index);
    return line === undefined
      ? { error: { type: 'not-run', message: 'not run: the job was refused', retryable: true } }
      : {
          error: {
            type: `${ctx.plan.client.provider}-${line.code}`,
            message: `line ${line.position + 1} refused: ${line.message}`,
            retryable: false,
          },
        };
  });
  await commitRows(ctx.session, rows);
  await close();
  return ENDED;
}
