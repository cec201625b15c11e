/**
 * `anthropic-batch`: items sent to Anthropic's Message Batches API (`baseUrl` for a proxy), a job
 * at a time: one `POST /messages/batches` with the job's requests, polled
 * (`GET /messages/batches/{id}`) until `ended`, its results read from `results_url`, mapped to
 * items by `custom_id`. Counts stay at zero until a job ends, so a poll tells only whether it ended.
 *
 * | a result                                          | the item                                   |
 * | ------------------------------------------------- | ------------------------------------------ |
 * | succeeded                                         | succeeded: the message (or resultPointer)  |
 * | errored: invalid_request_error, authentication_ | failed, not retried: `anthropic-TYPE`      |
 * | error, permission_error, not_found_error,         |                                            |
 * | billing_error, request_too_large                  |                                            |
 * | errored: rate_limit_error, overloaded_error,      | retried in a later job (an attempt)        |
 * | api_error, timeout_error, any other type          |                                            |
 * | canceled, expired, no result at all               | retried in a later job                     |
 *
 * A create refused as invalid (400) whose message names requests (`requests.3.params...`) turns
 * those into failure rows and sends the others again, uncharged. Message Batches carry no metadata,
 * so a job created but never recorded (a worker killed in between) is found again by listing: the
 * one job, created since shortly before the create and recorded by no batch, that holds as many requests.
 */
import { fillBody } from '../http/template';
import { resultOf, tokenUsage, withCost } from './batch-usage';
import { defineProviderBatchProcessor } from './provider-processor';
import {
  JobRefusedError,
  ProviderCallError,
  type FoundJob,
  type JobRequest,
  type JobSnapshot,
  type LineOutcome,
  type LostJob,
  type ProviderClient,
  type ResultLine,
} from './provider-client';
import { ProviderHttp, RawJson } from './provider-http';
import type { ProviderDefaults, ProviderOptions } from './provider-options';

const PROCESSOR = 'anthropic-batch';
/** Error types that the same request would meet again: the request must be fixed first. */
const NOT_RETRYABLE = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'billing_error',
  'request_too_large',
];
/** How far around a lost create's time a listing looks for the job: the provider's clock and ours may differ. */
const CLOCK_SKEW_MS = 10 * 60_000;

export const ANTHROPIC_DEFAULTS: ProviderDefaults = {
  processor: PROCESSOR,
  baseUrl: 'https://api.anthropic.com/v1',
  headers: { 'x-api-key': '${env:ANTHROPIC_API_KEY}' },
  requiredHeaders: { 'anthropic-version': '2023-06-01' },
  maxRequestsPerJob: 100_000,
  maxBytesPerJob: 256_000_000,
  extraOptions: [],
};

interface MessageBatch {
  id: string;
  processing_status: string;
  created_at: string;
  results_url?: string | null;
  request_counts?: Record<string, number>;
}

interface MessageBatchList {
  data: MessageBatch[];
  has_more: boolean;
  last_id?: string | null;
}

export class AnthropicBatchClient implements ProviderClient {
  readonly provider = 'anthropic';
  private readonly http: ProviderHttp;

  constructor(private readonly options: ProviderOptions) {
    this.http = new ProviderHttp(PROCESSOR, options);
  }

  requestBody(item: unknown): unknown {
    return { ...(fillBody(this.options.body, item) as Record<string, unknown>), model: this.options.model };
  }

  requestLine(request: JobRequest): string {
    return JSON.stringify({ custom_id: request.customId, params: request.body });
  }

  async create(job: { lines: string[] }): Promise<string> {
    try {
      // The lines are JSON already: the body is put together, not serialised again.
      return (await this.http.json<MessageBatch>('POST', '/messages/batches', new RawJson(`{"requests":[${job.lines.join(',')}]}`))).id;
    } catch (err) {
      if (!(err instanceof ProviderCallError && err.kind === 'refused')) throw err;
      const positions = [...err.message.matchAll(/requests\.(\d+)\b/g)].map((m) => Number(m[1]));
      throw new JobRefusedError(
        err.message,
        [...new Set(positions)].filter((p) => p < job.lines.length),
      );
    }
  }

  /**
   * Newest first, back to shortly before the create: the jobs holding as many requests that no
   * batch recorded. A listed batch names none of its requests, and two slices' creates in the same
   * moment both look like either lost job, so a candidate is taken only once its results show the
   * lost job's custom_ids: until it ends, the lost job's items wait with it (taking the wrong one
   * would send them again while the real one runs: I17).
   */
  async find(job: LostJob, recorded: (ids: string[]) => Promise<string[]>): Promise<FoundJob> {
    const candidates: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.http.json<MessageBatchList>(
        'GET',
        `/messages/batches?limit=100${after ? `&after_id=${encodeURIComponent(after)}` : ''}`,
      );
      const inWindow = page.data.filter((b) => Math.abs(Date.parse(b.created_at) - job.creatingAt) <= CLOCK_SKEW_MS);
      candidates.push(...inWindow.filter((b) => totalRequests(b) === job.requests).map((b) => b.id));
      const oldest = page.data[page.data.length - 1];
      if (!page.has_more || oldest === undefined || Date.parse(oldest.created_at) < job.creatingAt - CLOCK_SKEW_MS) break;
      after = page.last_id ?? oldest.id;
    }
    const taken = new Set(await recorded(candidates));
    return this.byResults(
      candidates.filter((id) => !taken.has(id)),
      job,
    );
  }

  /** Of the candidates, the one whose results (once it ended) are the lost job's; those still running cannot be ruled out. */
  private async byResults(candidates: string[], job: LostJob): Promise<FoundJob> {
    const running: string[] = [];
    for (const id of candidates) {
      const snapshot = await this.poll(id);
      if (!snapshot.ended || snapshot.resultsPending) {
        running.push(id);
        continue;
      }
      for await (const line of this.results(snapshot)) {
        if (job.holds(line.customId)) return { found: id };
        break;
      }
    }
    return running.length > 0 ? { ambiguous: running } : { none: true };
  }

  async poll(jobId: string): Promise<JobSnapshot> {
    const batch = await this.http.json<MessageBatch>('GET', `/messages/batches/${encodeURIComponent(jobId)}`);
    const ended = batch.processing_status === 'ended';
    return { status: batch.processing_status, ended, resultsPending: ended && !batch.results_url, resultsAt: batch.results_url };
  }

  async *results(snapshot: JobSnapshot): AsyncIterable<ResultLine> {
    for await (const text of this.http.lines(snapshot.resultsAt as string, 'application/binary')) yield this.line(text);
  }

  async cancel(jobId: string): Promise<void> {
    await this.http.json('POST', `/messages/batches/${encodeURIComponent(jobId)}/cancel`);
  }

  private line(text: string): ResultLine {
    let line: {
      custom_id?: unknown;
      result?: { type?: string; message?: unknown; error?: { error?: { type?: string; message?: string } } };
    };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return {
        customId: undefined,
        outcome: { error: { type: 'anthropic-bad-line', message: `a result line is not JSON: ${text.slice(0, 200)}`, retryable: true } },
      };
    }
    return { customId: line.custom_id, outcome: this.outcome(line.result) };
  }

  private outcome(
    result: { type?: string; message?: unknown; error?: { error?: { type?: string; message?: string } } } | undefined,
  ): LineOutcome {
    switch (result?.type) {
      case 'succeeded':
        return this.succeeded(result.message);
      case 'errored': {
        const type = result.error?.error?.type ?? 'api_error';
        const message = result.error?.error?.message ?? 'the request errored';
        return { error: { type: `anthropic-${type}`, message: `${type}: ${message}`, retryable: !NOT_RETRYABLE.includes(type) } };
      }
      case 'canceled':
      case 'expired':
        return {
          error: {
            type: `anthropic-${result.type}`,
            message: `the job ${result.type === 'expired' ? 'expired' : 'was cancelled'} before this request ran`,
            retryable: true,
          },
        };
      default:
        return {
          error: { type: 'anthropic-unknown-result', message: `an unknown result type ${JSON.stringify(result?.type)}`, retryable: true },
        };
    }
  }

  private succeeded(message: unknown): LineOutcome {
    const tokens = tokenUsage((message as { usage?: unknown } | undefined)?.usage);
    const usage = withCost(tokens, tokens?.input_tokens, tokens?.output_tokens, this.options);
    try {
      return { result: resultOf(message, this.options, 'anthropic'), ...(usage ? { usage } : {}) };
    } catch (err) {
      return {
        error: { type: 'anthropic-result-missing', message: (err as Error).message, retryable: false },
        ...(usage ? { usage } : {}),
      };
    }
  }
}

function totalRequests(batch: MessageBatch): number {
  return Object.values(batch.request_counts ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
}

export const anthropicBatchProcessor = defineProviderBatchProcessor(ANTHROPIC_DEFAULTS, (options) => new AnthropicBatchClient(options));
