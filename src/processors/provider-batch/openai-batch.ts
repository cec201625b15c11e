/**
 * `openai-batch`: items sent to OpenAI's Batch API (or anything that speaks it: Azure OpenAI,
 * LiteLLM, a proxy; `baseUrl`), a job at a time: the requests go up as a JSONL file
 * (`POST /files`, purpose `batch`), a job is created on it (`POST /batches`, window 24h) with
 * waymark's key in its metadata, polled (`GET /batches/{id}`), and its output AND error files are
 * read once it ended, results mapped to items by `custom_id`.
 *
 * | a result line                                     | the item                                   |
 * | ------------------------------------------------- | ------------------------------------------ |
 * | response 2xx                                      | succeeded: the body (or resultPointer)     |
 * | response 429, 408, 5xx                            | retried in a later job (an attempt)        |
 * | response other 4xx (invalid_request_error, ...)   | failed, not retried: `openai-STATUS`       |
 * | error batch_expired, batch_cancelled, request_timeout, other codes | retried in a later job    |
 * | no line at all                                    | retried in a later job                     |
 *
 * A job that ends `failed` ran nothing: the lines its errors name are failure rows and the others
 * go again uncharged; `token_limit_exceeded` (the enqueued-token limit) is a quota wait. A job
 * created but never recorded (a worker killed in between) is found again by its metadata.
 */
import { fillBody } from '../http/template';
import type { Usage } from '../../contract/usage';
import { ProcessorOptionsError } from '../processor';
import { resultOf, tokenUsage, withCost } from './batch-usage';
import { defineProviderBatchProcessor } from './provider-processor';
import {
  ProviderCallError,
  type FoundJob,
  type JobRequest,
  type JobSnapshot,
  type LineOutcome,
  type LostJob,
  type ProviderClient,
  type ResultLine,
} from './provider-client';
import { ProviderHttp } from './provider-http';
import type { ProviderDefaults, ProviderOptions } from './provider-options';

const PROCESSOR = 'openai-batch';
const ENDPOINTS = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/completions', '/v1/moderations'];
const ENDED = ['completed', 'failed', 'expired', 'cancelled'];
/** Per-line error codes of requests that did not run to an answer: another job may run them. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;
/** How far before a lost create's time a listing looks: the provider's clock and ours may differ. */
const CLOCK_SKEW_MS = 10 * 60_000;

export const OPENAI_DEFAULTS: ProviderDefaults = {
  processor: PROCESSOR,
  baseUrl: 'https://api.openai.com/v1',
  headers: { Authorization: 'Bearer ${env:OPENAI_API_KEY}' },
  requiredHeaders: {},
  maxRequestsPerJob: 50_000,
  maxBytesPerJob: 200_000_000,
  extraOptions: ['endpoint'],
};

interface OpenAiBatch {
  id: string;
  status: string;
  created_at: number;
  metadata?: Record<string, string> | null;
  output_file_id?: string | null;
  error_file_id?: string | null;
  request_counts?: { total: number; completed: number; failed: number };
  errors?: { data?: { code?: string; message?: string; line?: number | null }[] } | null;
}

interface OpenAiList {
  data: OpenAiBatch[];
  has_more: boolean;
  last_id?: string | null;
}

export class OpenAiBatchClient implements ProviderClient {
  readonly provider = 'openai';
  private readonly http: ProviderHttp;
  private readonly endpoint: string;

  constructor(private readonly options: ProviderOptions) {
    this.http = new ProviderHttp(PROCESSOR, options);
    this.endpoint = (options.extra.endpoint as string | undefined) ?? ENDPOINTS[0];
  }

  requestBody(item: unknown): unknown {
    return { ...(fillBody(this.options.body, item) as Record<string, unknown>), model: this.options.model };
  }

  requestLine(request: JobRequest): string {
    return JSON.stringify({ custom_id: request.customId, method: 'POST', url: this.endpoint, body: request.body });
  }

  async upload(job: { key: string; lines: string[] }): Promise<string> {
    const form = new FormData();
    form.set('purpose', 'batch');
    form.set('file', new Blob([`${job.lines.join('\n')}\n`], { type: 'application/jsonl' }), `${job.key}.jsonl`);
    return (await this.http.form<{ id: string }>('/files', form)).id;
  }

  async discardUpload(fileId: string): Promise<void> {
    try {
      await this.http.json('DELETE', `/files/${encodeURIComponent(fileId)}`);
    } catch (err) {
      if (!(err instanceof ProviderCallError && err.kind === 'not-found')) throw err;
    }
  }

  async create(job: { key: string; batchId: string; fileId?: string }): Promise<string> {
    const created = await this.http.json<OpenAiBatch>('POST', '/batches', {
      input_file_id: job.fileId,
      endpoint: this.endpoint,
      completion_window: '24h',
      metadata: { waymark_job: job.key, waymark_batch: job.batchId.slice(0, 512) },
    });
    return created.id;
  }

  /** Jobs are listed newest first: the one whose metadata names the key, created since shortly before the create. */
  async find(job: LostJob): Promise<FoundJob> {
    let after: string | undefined;
    for (;;) {
      const page = await this.http.json<OpenAiList>('GET', `/batches?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      const match = page.data.find((b) => b.metadata?.waymark_job === job.key);
      if (match !== undefined) return { found: match.id };
      const oldest = page.data[page.data.length - 1];
      if (!page.has_more || oldest === undefined || oldest.created_at * 1000 < job.creatingAt - CLOCK_SKEW_MS) return { none: true };
      after = page.last_id ?? oldest.id;
    }
  }

  async poll(jobId: string): Promise<JobSnapshot> {
    const batch = await this.http.json<OpenAiBatch>('GET', `/batches/${encodeURIComponent(jobId)}`);
    const ended = ENDED.includes(batch.status);
    const snapshot: JobSnapshot = { status: batch.status, ended, resultsAt: { output: batch.output_file_id, error: batch.error_file_id } };
    if (batch.status === 'failed') {
      const errors = batch.errors?.data ?? [];
      snapshot.refused = {
        lines: errors
          .filter((e) => typeof e.line === 'number' && e.line >= 1)
          .map((e) => ({ position: e.line! - 1, code: e.code ?? 'invalid', message: e.message ?? '' })),
        message: errors.map((e) => `${e.code ?? 'error'}: ${e.message ?? ''}`).join('; ') || 'the job failed without saying why',
        quota: errors.some((e) => e.code === 'token_limit_exceeded'),
      };
      return snapshot;
    }
    // A job can end `completed` before its file ids are filled in (LiteLLM #37713): the counts say what to expect.
    const counts = batch.request_counts;
    const noOutputYet = (counts?.completed ?? 0) > 0 && !batch.output_file_id;
    const noErrorsYet = (counts?.failed ?? 0) > 0 && !batch.error_file_id;
    if (ended && (noOutputYet || noErrorsYet)) snapshot.resultsPending = true;
    return snapshot;
  }

  async *results(snapshot: JobSnapshot): AsyncIterable<ResultLine> {
    const files = snapshot.resultsAt as { output?: string | null; error?: string | null };
    for (const fileId of [files.output, files.error]) {
      if (!fileId) continue;
      for await (const text of this.http.lines(`/files/${encodeURIComponent(fileId)}/content`)) yield this.line(text);
    }
  }

  async cancel(jobId: string): Promise<void> {
    await this.http.json('POST', `/batches/${encodeURIComponent(jobId)}/cancel`);
  }

  private line(text: string): ResultLine {
    let line: {
      custom_id?: unknown;
      response?: { status_code?: number; body?: unknown } | null;
      error?: { code?: string; message?: string } | null;
    };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return {
        customId: undefined,
        outcome: { error: { type: 'openai-bad-line', message: `a result line is not JSON: ${text.slice(0, 200)}`, retryable: true } },
      };
    }
    return { customId: line.custom_id, outcome: this.outcome(line.response ?? null, line.error ?? null) };
  }

  private outcome(
    response: { status_code?: number; body?: unknown } | null,
    error: { code?: string; message?: string } | null,
  ): LineOutcome {
    if (response !== null && typeof response.status_code === 'number') {
      const status = response.status_code;
      if (status >= 200 && status < 300) return this.succeeded(response.body);
      const body = response.body as { error?: { message?: string; type?: string } } | undefined;
      const message = `the request answered ${status}${body?.error?.type ? ` ${body.error.type}` : ''}: ${body?.error?.message ?? JSON.stringify(response.body ?? null).slice(0, 300)}`;
      return { error: { type: `openai-${status}`, message, retryable: RETRYABLE_STATUS(status) } };
    }
    const code = error?.code ?? 'openai-error';
    return { error: { type: code, message: error?.message ?? 'the job returned no answer for this request', retryable: true } };
  }

  private succeeded(body: unknown): LineOutcome {
    const answer = body as { usage?: Record<string, unknown> } | undefined;
    const tokens = tokenUsage(answer?.usage);
    const usage: Usage | undefined = withCost(
      tokens,
      tokens?.prompt_tokens ?? tokens?.input_tokens,
      tokens?.completion_tokens ?? tokens?.output_tokens,
      this.options,
    );
    try {
      return { result: resultOf(body, this.options, 'openai'), ...(usage ? { usage } : {}) };
    } catch (err) {
      return { error: { type: 'openai-result-missing', message: (err as Error).message, retryable: false }, ...(usage ? { usage } : {}) };
    }
  }
}

export const openAiBatchProcessor = defineProviderBatchProcessor(
  OPENAI_DEFAULTS,
  (options) => new OpenAiBatchClient(options),
  (options) => {
    const endpoint = options.extra.endpoint;
    if (endpoint !== undefined && !ENDPOINTS.includes(endpoint as string)) {
      throw new ProcessorOptionsError(
        `processor "${PROCESSOR}" option "endpoint" must be one of ${ENDPOINTS.join(', ')}, got ${JSON.stringify(endpoint)}`,
      );
    }
  },
);
