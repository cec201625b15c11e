/**
 * A loopback fake of Anthropic's Message Batches API (the routes waymark's `anthropic-batch`
 * calls), from the documented shapes (anthropic-sdk-typescript `messages/batches.ts`, the
 * batch-processing guide): `POST /v1/messages/batches` (custom_id checked against
 * ^[a-zA-Z0-9_-]{1,64}$), `GET /v1/messages/batches/{id}` (counts at zero until `ended`),
 * `GET /v1/messages/batches` (newest first, `after_id`, `limit`), `POST .../{id}/cancel`
 * (`canceling`, then `ended`), and the results at `results_url`: one line per request,
 * `succeeded`, `errored`, `canceled` or `expired`. Answers echo each request (messages with
 * usage). Knobs: batch-fake-core.ts; a line the validation knob rejects makes the create a 400
 * naming `requests.N`.
 */
import type { IncomingMessage } from 'node:http';
import {
  BatchFakeCore,
  echoText,
  serveFake,
  type BatchFakeOptions,
  type FakeAnswer,
  type FakeJob,
  type FakeResult,
  type FakeServer,
} from './batch-fake-core';

export interface AnthropicBatchFake extends FakeServer {
  readonly core: BatchFakeCore;
  /** The `baseUrl` option that points `anthropic-batch` here. */
  readonly baseUrl: string;
}

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const ERROR_TYPE = {
  invalid: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  server: 'api_error',
  overloaded: 'overloaded_error',
} as const;

export async function startAnthropicBatchFake(options: BatchFakeOptions = {}): Promise<AnthropicBatchFake> {
  const core = new BatchFakeCore(options);
  let url = '';
  const view = (job: FakeJob): Record<string, unknown> => batchView(job, core, url);
  const handle = async (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ answer?: FakeAnswer; route?: 'create' | 'poll' | 'results'; act?: () => Promise<FakeAnswer> }> => {
    const path = new URL(req.url ?? '/', url);
    const parts = path.pathname.split('/').filter(Boolean);
    if (parts.slice(0, 3).join('/') !== 'v1/messages/batches') return { answer: notFound(`no route ${path.pathname}`) };
    if (parts.length === 3 && req.method === 'POST')
      return { route: 'create', act: () => create(JSON.parse(body.toString()) as CreateBody, core, view) };
    if (parts.length === 3) return { answer: { status: 200, json: list(core, path, view) } };
    const job = core.jobs.find((j) => j.id === parts[3]);
    if (job === undefined) return { answer: notFound(`message batch ${parts[3]} not found`) };
    if (parts[4] === 'cancel' && req.method === 'POST') {
      await core.cancel(job);
      return { answer: { status: 200, json: { ...view(job), processing_status: job.ended ? 'ended' : 'canceling' } } };
    }
    if (parts[4] === 'results') {
      if (!core.resultsShown(job)) return { answer: notFound(`results of ${job.id} are not available yet`) };
      return { route: 'results', act: async () => ({ status: 200, lines: job.ended!.results.map(resultLine) }) };
    }
    return {
      route: 'poll',
      act: async () => ((await core.poll(job)) ? { status: 200, json: view(job) } : notFound(`message batch ${job.id} not found`)),
    };
  };
  const server = await serveFake(core, handle, (req) => options.apiKey === undefined || req.headers['x-api-key'] === options.apiKey);
  url = server.url;
  return { ...server, core, baseUrl: `${server.url}/v1` };
}

interface CreateBody {
  requests: { custom_id: string; params: unknown }[];
}

function notFound(message: string): FakeAnswer {
  return { status: 404, json: { type: 'error', error: { type: 'not_found_error', message } } };
}

function invalid(message: string): FakeAnswer {
  return { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message } } };
}

async function create(body: CreateBody, core: BatchFakeCore, view: (job: FakeJob) => Record<string, unknown>): Promise<FakeAnswer> {
  for (const [i, r] of body.requests.entries()) {
    if (!CUSTOM_ID.test(r.custom_id)) return invalid(`requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    const rejected = core.options.rejectLine?.(r.params);
    if (rejected !== undefined) return invalid(`requests.${i}.params: ${rejected}`);
  }
  const made = await core.create(body.requests.map((r) => ({ customId: r.custom_id, body: r.params })));
  if (made.job) made.job.id = core.newId('msgbatch_');
  if (made.error === 429)
    return {
      status: 429,
      json: { type: 'error', error: { type: 'rate_limit_error', message: 'rate limited' } },
      headers: { 'retry-after': '1' },
    };
  if (made.error !== undefined)
    return { status: 500, json: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } };
  return { status: 200, json: view(made.job!) };
}

function list(core: BatchFakeCore, path: URL, view: (job: FakeJob) => Record<string, unknown>): unknown {
  const newestFirst = [...core.jobs].reverse();
  const after = path.searchParams.get('after_id');
  const from = after === null ? 0 : newestFirst.findIndex((j) => j.id === after) + 1;
  const limit = Number(path.searchParams.get('limit') ?? 20);
  const page = newestFirst.slice(from, from + limit);
  return {
    data: page.map(view),
    has_more: from + limit < newestFirst.length,
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
  };
}

function batchView(job: FakeJob, core: BatchFakeCore, url: string): Record<string, unknown> {
  const ended = job.ended;
  const count = (kind: (r: FakeResult) => boolean) => ended?.results.filter(kind).length ?? 0;
  return {
    id: job.id,
    type: 'message_batch',
    processing_status: ended ? 'ended' : job.cancelAt !== undefined ? 'canceling' : 'in_progress',
    // Zero until the whole batch ended: no partial progress while it runs.
    request_counts: {
      processing: ended ? 0 : job.requests.length,
      succeeded: count((r) => r.answer !== undefined),
      errored: count((r) => r.error !== undefined && r.error !== 'expired' && r.error !== 'cancelled'),
      canceled: count((r) => r.error === 'cancelled'),
      expired: count((r) => r.error === 'expired'),
    },
    created_at: new Date(job.createdAt).toISOString(),
    expires_at: new Date(job.createdAt + 86_400_000).toISOString(),
    ended_at: ended ? new Date(ended.at).toISOString() : null,
    cancel_initiated_at: job.cancelAt !== undefined ? new Date(job.cancelAt).toISOString() : null,
    archived_at: null,
    results_url: core.resultsShown(job) ? `${url}/v1/messages/batches/${job.id}/results` : null,
  };
}

function resultLine(r: FakeResult): string {
  if (r.answer !== undefined) {
    const params = r.answer as { model?: string };
    const text = echoText(r.answer);
    const message = {
      id: `msg_${r.customId}`,
      type: 'message',
      role: 'assistant',
      model: params.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      usage: { input_tokens: Math.ceil(JSON.stringify(r.answer).length / 4), output_tokens: Math.ceil(text.length / 4) },
    };
    return JSON.stringify({ custom_id: r.customId, result: { type: 'succeeded', message } });
  }
  if (r.error === 'expired') return JSON.stringify({ custom_id: r.customId, result: { type: 'expired' } });
  if (r.error === 'cancelled') return JSON.stringify({ custom_id: r.customId, result: { type: 'canceled' } });
  const type = ERROR_TYPE[r.error!];
  return JSON.stringify({
    custom_id: r.customId,
    result: { type: 'errored', error: { type: 'error', error: { type, message: `fake ${type}` } } },
  });
}
