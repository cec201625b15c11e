/**
 * A loopback fake of OpenAI's Batch API (the routes waymark's `openai-batch` calls), from the
 * documented shapes (openai-openapi `Batch`, `BatchRequestInput`/`BatchRequestOutput`; the batch
 * guide): `POST /v1/files` (multipart, purpose batch), `DELETE /v1/files/{id}`,
 * `GET /v1/files/{id}/content`, `POST /v1/batches`, `GET /v1/batches/{id}`, `GET /v1/batches`
 * (newest first, `after`, `limit`), `POST /v1/batches/{id}/cancel`. Answers echo each request
 * (chat completions with usage); the output file holds the answers, the error file everything else
 * (batch_expired, batch_cancelled, error responses). Knobs: batch-fake-core.ts.
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

export interface OpenAiBatchFake extends FakeServer {
  readonly core: BatchFakeCore;
  /** The `baseUrl` option that points `openai-batch` here. */
  readonly baseUrl: string;
}

const STATUS_OF_ERROR = { invalid: 400, rate_limit: 429, server: 500, overloaded: 503 } as const;

export async function startOpenAiBatchFake(options: BatchFakeOptions = {}): Promise<OpenAiBatchFake> {
  const core = new BatchFakeCore(options);
  const files = new Map<string, { filename: string; purpose: string; content: string }>();
  const fileOf = new Map<FakeJob, { input: string; output?: string; error?: string }>();
  let url = '';

  const batchObject = (job: FakeJob): Record<string, unknown> => batchView(job, core, files, fileOf);
  const handle = async (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ answer?: FakeAnswer; route?: 'upload' | 'create' | 'poll' | 'results'; act?: () => Promise<FakeAnswer> }> => {
    const path = new URL(req.url ?? '/', url);
    const parts = path.pathname.split('/').filter(Boolean);
    const jobOf = (id: string) => core.jobs.find((j) => j.id === id);
    if (req.method === 'POST' && path.pathname === '/v1/files') {
      return { route: 'upload', act: async () => upload(req, body, core, files) };
    }
    if (parts[1] === 'files' && parts.length >= 3) {
      const file = files.get(parts[2]);
      if (file === undefined) return { answer: notFound(`No such File object: ${parts[2]}`) };
      if (req.method === 'DELETE') {
        files.delete(parts[2]);
        return { answer: { status: 200, json: { id: parts[2], object: 'file', deleted: true } } };
      }
      return { route: 'results', act: async () => ({ status: 200, lines: file.content.split('\n').filter(Boolean) }) };
    }
    if (req.method === 'POST' && path.pathname === '/v1/batches') {
      return { route: 'create', act: async () => create(JSON.parse(body.toString()) as CreateBody, core, files, fileOf, batchObject) };
    }
    if (req.method === 'GET' && path.pathname === '/v1/batches') {
      return { answer: { status: 200, json: list(core, path, batchObject) } };
    }
    if (parts[1] === 'batches' && parts.length >= 3) {
      const job = jobOf(parts[2]);
      if (job === undefined) return { answer: notFound(`No batch found with id '${parts[2]}'.`) };
      if (req.method === 'POST' && parts[3] === 'cancel') {
        await core.cancel(job);
        return { answer: { status: 200, json: { ...batchObject(job), status: 'cancelling' } } };
      }
      return {
        route: 'poll',
        act: async () =>
          (await core.poll(job)) ? { status: 200, json: batchObject(job) } : notFound(`No batch found with id '${job.id}'.`),
      };
    }
    return { answer: notFound(`no route ${req.method} ${path.pathname}`) };
  };
  const server = await serveFake(
    core,
    handle,
    (req) => options.apiKey === undefined || req.headers.authorization === `Bearer ${options.apiKey}`,
  );
  url = server.url;
  return { ...server, core, baseUrl: `${server.url}/v1` };
}

interface CreateBody {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata?: Record<string, string>;
}

function notFound(message: string): FakeAnswer {
  return { status: 404, json: { error: { message, type: 'invalid_request_error', code: null } } };
}

async function upload(
  req: IncomingMessage,
  body: Buffer,
  core: BatchFakeCore,
  files: Map<string, { filename: string; purpose: string; content: string }>,
): Promise<FakeAnswer> {
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
  const file = form.get('file');
  if (form.get('purpose') !== 'batch' || !(file instanceof Blob)) {
    return { status: 400, json: { error: { message: 'purpose must be batch and file a .jsonl file', type: 'invalid_request_error' } } };
  }
  const id = core.newId('file-');
  const filename = file instanceof File ? file.name : 'input.jsonl';
  files.set(id, { filename, purpose: 'batch', content: await file.text() });
  return {
    status: 200,
    json: { id, object: 'file', bytes: file.size, created_at: Math.floor((await core.now()) / 1000), filename, purpose: 'batch' },
  };
}

async function create(
  body: CreateBody,
  core: BatchFakeCore,
  files: Map<string, { content: string }>,
  fileOf: Map<FakeJob, { input: string }>,
  batchObject: (job: FakeJob) => unknown,
): Promise<FakeAnswer> {
  const input = files.get(body.input_file_id);
  if (input === undefined)
    return { status: 400, json: { error: { message: `Invalid input_file_id '${body.input_file_id}'`, type: 'invalid_request_error' } } };
  const lines = input.content
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { custom_id: string; body: unknown });
  const made = await core.create(
    lines.map((l) => ({ customId: l.custom_id, body: l.body })),
    body.metadata,
  );
  if (made.job) {
    made.job.id = core.newId('batch_');
    fileOf.set(made.job, { input: body.input_file_id });
    const rejected = lines.flatMap((l, i) => {
      const message = core.options.rejectLine?.(l.body);
      return message === undefined ? [] : [{ code: 'invalid_request', message, line: i + 1 }];
    });
    if (rejected.length > 0) made.job.failed = rejected;
  }
  if (made.error === 429)
    return { status: 429, json: { error: { message: 'Rate limit reached', type: 'requests' } }, headers: { 'retry-after': '1' } };
  if (made.error !== undefined)
    return { status: 500, json: { error: { message: 'The server had an error while processing your request.', type: 'server_error' } } };
  return { status: 200, json: batchObject(made.job!) };
}

function list(core: BatchFakeCore, path: URL, batchObject: (job: FakeJob) => unknown): unknown {
  const newestFirst = [...core.jobs].reverse();
  const after = path.searchParams.get('after');
  const from = after === null ? 0 : newestFirst.findIndex((j) => j.id === after) + 1;
  const limit = Number(path.searchParams.get('limit') ?? 20);
  const page = newestFirst.slice(from, from + limit);
  return {
    object: 'list',
    data: page.map(batchObject),
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
    has_more: from + limit < newestFirst.length,
  };
}

function batchView(
  job: FakeJob,
  core: BatchFakeCore,
  files: Map<string, { filename: string; purpose: string; content: string }>,
  fileOf: Map<FakeJob, { input: string; output?: string; error?: string }>,
): Record<string, unknown> {
  const ended = job.ended;
  const shown = core.resultsShown(job);
  const own = fileOf.get(job)!;
  if (ended && shown && ended.status !== 'failed' && own.output === undefined && own.error === undefined)
    writeResultFiles(job, core, files, own);
  const answered = ended?.results.filter((r) => r.answer !== undefined).length ?? 0;
  const status = ended ? ended.status : job.failed ? 'validating' : job.cancelAt !== undefined ? 'cancelling' : 'in_progress';
  return {
    id: job.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: own.input,
    completion_window: '24h',
    status,
    created_at: Math.floor(job.createdAt / 1000),
    metadata: job.metadata ?? null,
    output_file_id: shown ? (own.output ?? null) : null,
    error_file_id: shown ? (own.error ?? null) : null,
    errors: job.failed && ended ? { object: 'list', data: job.failed.map((e) => ({ ...e, param: null })) } : null,
    request_counts: { total: job.requests.length, completed: answered, failed: ended ? job.requests.length - answered : 0 },
  };
}

function writeResultFiles(
  job: FakeJob,
  core: BatchFakeCore,
  files: Map<string, { filename: string; purpose: string; content: string }>,
  own: { output?: string; error?: string },
): void {
  const results = job.ended!.results;
  const output = results.filter((r) => r.answer !== undefined).map((r, i) => outputLine(job, r, i));
  const errors = results.filter((r) => r.answer === undefined).map((r, i) => outputLine(job, r, i));
  if (output.length > 0) {
    own.output = core.newId('file-');
    files.set(own.output, { filename: 'batch_output.jsonl', purpose: 'batch_output', content: output.join('\n') });
  }
  if (errors.length > 0) {
    own.error = core.newId('file-');
    files.set(own.error, { filename: 'batch_error.jsonl', purpose: 'batch_output', content: errors.join('\n') });
  }
}

function outputLine(job: FakeJob, r: FakeResult, i: number): string {
  const id = `batch_req_${job.id}_${i}`;
  if (r.answer !== undefined) {
    const body = r.answer as { model?: string };
    const text = echoText(r.answer);
    const prompt = Math.ceil(JSON.stringify(r.answer).length / 4);
    const completion = Math.ceil(text.length / 4);
    const completionBody = {
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
    return JSON.stringify({
      id,
      custom_id: r.customId,
      response: { status_code: 200, request_id: `req_${i}`, body: completionBody },
      error: null,
    });
  }
  if (r.error === 'expired' || r.error === 'cancelled') {
    const code = r.error === 'expired' ? 'batch_expired' : 'batch_cancelled';
    const message =
      r.error === 'expired'
        ? 'This request could not be executed before the completion window expired.'
        : 'The batch was cancelled before this request ran.';
    return JSON.stringify({ id, custom_id: r.customId, response: null, error: { code, message } });
  }
  const status = STATUS_OF_ERROR[r.error!];
  const type = r.error === 'invalid' ? 'invalid_request_error' : r.error === 'rate_limit' ? 'rate_limit_error' : 'server_error';
  return JSON.stringify({
    id,
    custom_id: r.customId,
    response: { status_code: status, request_id: `req_${i}`, body: { error: { message: `fake ${type}`, type } } },
    error: null,
  });
}
