/**
 * Sending a slice's waiting items to the provider as jobs (INVARIANTS.md I17). Each job is first
 * recorded in the ledger as an intent (refused when a live job holds any of its items), then each
 * step is recorded before the call it prepares: the input file's id once uploaded (OpenAI), then
 * `creating` just before the create, then the provider's id once created. A worker killed between
 * any two of these leaves a row that says how far it got (provider-follow.ts takes it from there):
 *
 * - intent, uploaded: no create was sent, so no job exists: the job is abandoned and its items
 *   sent again;
 * - creating: a job may exist: it is looked for by listing, and only abandoned once the input
 *   file is deleted (OpenAI) and a listing a settle time later still does not show it.
 */
import { randomBytes } from 'node:crypto';
import type { SourceItem } from '../sources/source';
import type { OutcomeToCommit } from '../ledger/ledger';
import { customId } from '../processors/provider-batch/custom-id';
import { JobRefusedError, ProviderCallError } from '../processors/provider-batch/provider-client';
import { ProcessorCannotStartError } from '../processors/processor';
import { errorType } from '../processors/errors';
import { failedRow, type ProviderSliceContext } from './provider-context';

/** One item's request, ready for a job: its line and its size there. */
export interface PreparedRequest {
  index: number;
  line: string;
  bytes: number;
}

/** Why a pass stopped sending: everything went, or what holds the rest. */
export type SendStop =
  | { kind: 'sent' }
  | { kind: 'quota'; retryAfterMs: number; pacedOn?: string }
  | { kind: 'budget' }
  | { kind: 'stopped' }
  | { kind: 'transient'; message: string };

/** What decides, before each job, whether it may go, and how many of its items. */
export interface SendGate {
  /** Why no job may go now, if something says so (a stop, a quota hold, the budget). */
  blocked(): Promise<SendStop | undefined>;
  /** How many of `wanted` items a named rate limit lets go now (at least 1), or the wait. */
  take(wanted: number): Promise<number | SendStop>;
}

/**
 * The requests of the items that wait to be sent (not settled, in no live job), in index order;
 * items that cannot become a request (a line that does not parse, an item the body template does
 * not fit) are failure rows at once, as any processor's would be.
 */
export async function prepareRequests(
  ctx: ProviderSliceContext,
  items: AsyncIterable<SourceItem>,
  waits: (index: number) => boolean,
): Promise<{ requests: PreparedRequest[]; failures: OutcomeToCommit[] }> {
  const requests: PreparedRequest[] = [];
  const failures: OutcomeToCommit[] = [];
  const { client, maxBytesPerJob } = ctx.plan;
  for await (const item of items) {
    if (!waits(item.index)) continue;
    const now = Date.now();
    if (item.parseError !== undefined) {
      failures.push(failedRow(item.index, 'parse', item.parseError, 0, now));
      continue;
    }
    let line: string;
    try {
      line = client.requestLine({ index: item.index, customId: customId(ctx.tag, item.index), body: client.requestBody(item.value) });
    } catch (err) {
      failures.push(failedRow(item.index, errorType(err), (err as Error).message, 0, now));
      continue;
    }
    const bytes = Buffer.byteLength(line) + 1;
    if (bytes > maxBytesPerJob) {
      const message = `the request is ${bytes} bytes, more than a job may hold (maxBytesPerJob ${maxBytesPerJob}); shorten the item or the body template`;
      failures.push(failedRow(item.index, 'request-too-large', message, 0, now));
      continue;
    }
    requests.push({ index: item.index, line, bytes });
  }
  return { requests, failures };
}

/**
 * Sends the requests as jobs of at most maxRequestsPerJob requests and maxBytesPerJob bytes, in
 * index order, while the gate lets them. Lines a create refuses by name become failure rows
 * (`refusedRows`) and the rest of their job goes again at once.
 */
export async function sendJobs(
  ctx: ProviderSliceContext,
  requests: PreparedRequest[],
  gate: SendGate,
  refusedRows: (rows: OutcomeToCommit[]) => Promise<void>,
): Promise<SendStop> {
  const queue = [...requests];
  while (queue.length > 0) {
    const blocked = await gate.blocked();
    if (blocked !== undefined) return blocked;
    const allowed = await gate.take(fitting(ctx, queue));
    if (typeof allowed !== 'number') return allowed;
    const job = queue.splice(0, allowed);
    const sent = await sendJob(ctx, job);
    if (sent === 'elsewhere') return { kind: 'sent' };
    if ('refused' in sent) {
      await refusedRows(sent.refused);
      const named = new Set(sent.refused.map((r) => r.index));
      queue.unshift(...job.filter((r) => !named.has(r.index)));
      continue;
    }
    if (sent.stop.kind !== 'sent') return sent.stop;
  }
  return { kind: 'sent' };
}

/** How many of the queue's first requests fit one job. */
function fitting(ctx: ProviderSliceContext, queue: PreparedRequest[]): number {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < ctx.plan.maxRequestsPerJob && bytes + queue[n].bytes <= ctx.plan.maxBytesPerJob) bytes += queue[n++].bytes;
  return n;
}

type Sent = { stop: SendStop } | { refused: OutcomeToCommit[] } | 'elsewhere';

/** One job, from its intent to the provider's id. */
async function sendJob(ctx: ProviderSliceContext, requests: PreparedRequest[]): Promise<Sent> {
  const { ledger, session, plan } = ctx;
  const { client } = plan;
  const batchId = session.batchId;
  const owner = session.owner;
  const items = requests.map((r) => r.index);
  const key = `j${items[0]}-${randomBytes(4).toString('hex')}`;
  const lines = requests.map((r) => r.line);
  const intentAt = Date.now();
  // Another attempt recorded a job of some of these items first: it sends them, not this one.
  if (!(await ledger.recordProviderIntent({ batchId, key, provider: client.provider, items, intentAt, owner }))) return 'elsewhere';
  let step = 'upload';
  try {
    let fileId: string | undefined;
    if (client.upload !== undefined) {
      fileId = await client.upload({ key, lines });
      await ledger.updateProviderJob(batchId, key, { state: 'uploaded', fileId }, owner);
    }
    step = 'create';
    await ledger.updateProviderJob(batchId, key, { state: 'creating', creatingAt: Date.now() }, owner);
    const jobId = await client.create({ key, batchId, fileId, lines });
    await ledger.updateProviderJob(batchId, key, { state: 'submitted', jobId, status: 'submitted', submittedAt: Date.now() }, owner);
    ctx.log.info('provider job submitted', { batchId, key, jobId, items: items.length });
    return { stop: { kind: 'sent' } };
  } catch (err) {
    return sendFailed(ctx, key, step, requests, err);
  }
}

/** A call of a job's submission failed: what that means for the job and for the pass. */
async function sendFailed(ctx: ProviderSliceContext, key: string, step: string, requests: PreparedRequest[], err: unknown): Promise<Sent> {
  if (!(err instanceof ProviderCallError)) throw err;
  const { ledger, session, plan } = ctx;
  const batchId = session.batchId;
  const abandon = () => ledger.updateProviderJob(batchId, key, { state: 'abandoned', charged: false, endedAt: Date.now() }, session.owner);
  if (err.kind === 'credentials') throw cannotSend(plan.client.provider, err.message);
  // A transient failure of a create leaves the job `creating`: it may exist, and is looked for at the next pass.
  if (err.kind === 'transient' || err.kind === 'not-found') return { stop: { kind: 'transient', message: err.message } };
  // A 429 or a refusal is an answer: no job was created.
  await abandon();
  if (err.kind === 'quota') return { stop: { kind: 'quota', retryAfterMs: err.retryAfterMs ?? plan.pollIntervalMs } };
  if (err instanceof JobRefusedError && err.positions.length > 0) {
    const now = Date.now();
    return {
      refused: err.positions.map((p) => failedRow(requests[p].index, `${plan.client.provider}-invalid-request`, err.message, 1, now)),
    };
  }
  throw cannotSend(plan.client.provider, `the ${step} of a job was refused, naming no request: ${err.message}`);
}

/** Every job would meet the same answer: the batch stops with what the provider said. */
export function cannotSend(provider: string, message: string): ProcessorCannotStartError {
  return new ProcessorCannotStartError(
    `${provider}'s batch API refused the batch's jobs: ${message}. Every job would be refused the same way, so the batch stops here; fix the cause (the API key, the model, the body template, maxRequestsPerJob or maxBytesPerJob) and start it again`,
  );
}
