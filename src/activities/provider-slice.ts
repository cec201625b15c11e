/**
 * A slice of a provider batch processor (`openai-batch`, `anthropic-batch`): one pass, seconds
 * long, never an activity held open while a job runs at the provider for hours. A pass follows up
 * the slice's jobs (provider-follow.ts: finds a create that went unrecorded, polls, cancels,
 * collects what ended), then sends the items that wait as new jobs (provider-submit.ts), and
 * returns:
 *
 * - `at-provider` while any of its items is in a live job: the workflow sleeps `pollInMs` on a
 *   durable timer and runs the slice again (no heartbeat, no worker slot meanwhile);
 * - `done` once every item has its outcome;
 * - `quota` when items wait for a quota (a 429 or an enqueued-token limit, a named rate limit) or
 *   for the budget, and none is at the provider;
 * - `stopped` when a pause or a stop holds the items that wait, and none is at the provider.
 *
 * A paused batch (mode `collect`) sends nothing new but still polls and collects the jobs at the
 * provider; a cancelled or stopped one (mode `cancel`) cancels them, and collects what they
 * finished. The ledger's job rows, recorded before each submission step, make every pass safe to
 * repeat after any crash: no item is ever in two live jobs (INVARIANTS.md I17).
 */
import type { ProcessSliceInput, ProcessSliceResult, ProviderJobsMode } from '../contract/activity-io';
import type { ProviderJobView } from '../contract/provider-jobs';
import { isLive, type ProviderJob } from '../ledger/provider-jobs';
import type { SourceItem } from '../sources/source';
import { batchTag } from '../processors/provider-batch/custom-id';
import { commitRows, type ProviderSliceContext } from './provider-context';
import { followJob } from './provider-follow';
import { prepareRequests, sendJobs, type SendStop } from './provider-submit';
import { providerSendGate } from './provider-gate';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Processor } from '../processors/processor';
import { toApplicationFailure } from './failures';

/** A pass that met a problem worth another look soon (a 5xx, a lost create) still waits this much at least. */
const MIN_POLL_MS = 100;

export async function runProviderSlice(
  ctx: Omit<ProviderSliceContext, 'tag'>,
  input: ProcessSliceInput,
  readItems: () => AsyncIterable<SourceItem>,
): Promise<ProcessSliceResult> {
  const full: ProviderSliceContext = { ...ctx, tag: batchTag(ctx.session.batchId) };
  const { session, ledger } = full;
  const mode = modeOf(input.providerJobs, session.stopCause);
  let quotaWaitMs = 0;
  for (const job of await ledger.providerJobs(session.batchId, session.start, session.end)) {
    if (!isLive(job) || !holdsFirstItem(session, job)) continue;
    const followed = await followJob(full, job, mode);
    quotaWaitMs = Math.max(quotaWaitMs, followed.quotaWaitMs ?? 0);
  }
  // A quota met by one slice holds the batch's others too, as any processor's quota signal does.
  if (quotaWaitMs > 0) await session.holdBatch(Date.now() + quotaWaitMs);
  let stop: SendStop = { kind: 'sent' };
  if (mode === 'submit' && !session.stopping) stop = await sendWaiting(full, readItems);
  return passResult(full, await ledger.providerJobs(session.batchId, session.start, session.end), stop, mode);
}

/** What the workflow asked, or the ledger's control said since the slice was launched. */
function modeOf(asked: ProviderJobsMode | undefined, stopCause: string | undefined): ProviderJobsMode {
  if (stopCause === 'pause') return 'collect';
  if (stopCause === 'stop' || stopCause === 'cancelled') return 'cancel';
  return asked ?? 'submit';
}

/** A job is followed up by the slice that holds its first item: one slice per job, whatever cut made the slices. */
function holdsFirstItem(session: ProviderSliceContext['session'], job: ProviderJob): boolean {
  let first = Infinity;
  for (const index of job.items) if (index < first) first = index;
  return first >= session.start && first < session.end;
}

async function sendWaiting(ctx: ProviderSliceContext, readItems: () => AsyncIterable<SourceItem>): Promise<SendStop> {
  const { session, ledger } = ctx;
  const inLiveJob = liveItems(await ledger.providerJobs(session.batchId, session.start, session.end));
  const waits = (index: number) => index >= session.start && index < session.end && !session.isSettled(index) && !inLiveJob.has(index);
  if (session.cursor >= session.end) return { kind: 'sent' };
  const { requests, failures } = await prepareRequests(ctx, readItems(), waits);
  await commitRows(session, failures);
  if (requests.length === 0) return { kind: 'sent' };
  return sendJobs(ctx, requests, providerSendGate(ctx), (rows) => commitRows(session, rows));
}

function liveItems(jobs: ProviderJob[]): Set<number> {
  const items = new Set<number>();
  for (const job of jobs) if (isLive(job)) for (const index of job.items) items.add(index);
  return items;
}

async function passResult(
  ctx: ProviderSliceContext,
  jobs: ProviderJob[],
  stop: SendStop,
  mode: ProviderJobsMode,
): Promise<ProcessSliceResult> {
  const { session, plan } = ctx;
  const inLiveJob = liveItems(jobs);
  let atProvider = 0;
  let waiting = 0;
  for (let index = session.start; index < session.end; index++) {
    if (session.isSettled(index)) continue;
    if (inLiveJob.has(index)) atProvider++;
    else waiting++;
  }
  // Nothing held the items that wait, yet they did not go (a source that yields fewer items than its slice): the next pass tries again.
  const unexplained = waiting > 0 && mode === 'submit' && stop.kind === 'sent' && !session.stopping;
  if (atProvider > 0 || stop.kind === 'transient' || unexplained) {
    session.returned('at-provider');
    const soon = stop.kind === 'transient' ? Math.max(MIN_POLL_MS, Math.min(plan.pollIntervalMs, 5000)) : plan.pollIntervalMs;
    return {
      outcome: 'at-provider',
      pollInMs: soon,
      tally: await session.returnedTally(),
      provider: { jobs: views(jobs, session), atProvider, waiting },
    };
  }
  if (waiting === 0) {
    await session.finish();
    return { outcome: 'done', tally: await session.returnedTally() };
  }
  // A worker shutting down (SIGTERM): the slice goes on elsewhere, where its items are sent.
  if (session.draining) throw await session.stopCancelled([]);
  return waitingResult(ctx, stop, mode);
}

/** Items wait to be sent and none is at the provider: what holds them. */
async function waitingResult(ctx: ProviderSliceContext, stop: SendStop, mode: ProviderJobsMode): Promise<ProcessSliceResult> {
  const { session } = ctx;
  const now = Date.now();
  if (stop.kind === 'budget') {
    await session.stopForQuota('budget');
    return { outcome: 'quota', retryAfterMs: 60_000, nextIndex: session.cursor, tally: await session.returnedTally(), budgetReached: true };
  }
  const retryAfterMs = stop.kind === 'quota' ? stop.retryAfterMs : session.held(now) ? session.heldUntil! - now : undefined;
  if (retryAfterMs !== undefined && mode === 'submit') {
    await session.stopForQuota();
    const pacedOn = stop.kind === 'quota' ? stop.pacedOn : undefined;
    return {
      outcome: 'quota',
      retryAfterMs,
      nextIndex: session.cursor,
      tally: await session.returnedTally(),
      ...(pacedOn ? { pacedOn } : {}),
    };
  }
  session.returned('stopped');
  return { outcome: 'stopped', reason: mode === 'collect' ? 'pause' : 'stop', tally: await session.returnedTally() };
}

/** The live jobs that hold items of the slice, as progress shows them. */
function views(jobs: ProviderJob[], session: ProviderSliceContext['session']): ProviderJobView[] {
  return jobs
    .filter((job) => isLive(job) && job.items.some((i) => i >= session.start && i < session.end && !session.isSettled(i)))
    .map((job) => ({
      id: job.jobId ?? job.key,
      status: job.state === 'submitted' ? (job.status ?? 'submitted') : 'submitting',
      items: job.items.length,
    }));
}

/** processSlice's way for a provider batch processor: the slice's session, one pass, and its failures as processSlice reports them. */
export async function processProviderSlice(args: {
  ledger: ProviderSliceContext['ledger'];
  session: ProviderSliceContext['session'];
  input: ProcessSliceInput;
  log: ProviderSliceContext['log'];
  providerBatch: NonNullable<Processor['providerBatch']>;
  readItems: () => AsyncIterable<SourceItem>;
}): Promise<ProcessSliceResult> {
  const { ledger, session, input, log } = args;
  const spec = input.spec;
  try {
    const plan = args.providerBatch(spec.processor.options ?? {});
    await session.begin();
    return await runProviderSlice({ ledger, session, spec, plan, log }, input, args.readItems);
  } catch (err) {
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    throw toApplicationFailure(err);
  } finally {
    session.close();
  }
}
