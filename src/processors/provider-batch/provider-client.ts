/**
 * What waymark needs of a provider's batch API, whichever provider: submit a job (upload, then
 * create), find a created job that was never recorded, poll, read the results, cancel. The
 * provider slice (src/activities/provider-slice.ts) drives these calls and records each step in
 * the ledger; a client only talks to the API and reads its answers.
 */
import type { Usage } from '../../contract/usage';

/** One item's request in a job. */
export interface JobRequest {
  index: number;
  customId: string;
  /** The request body (OpenAI) or params (Anthropic), model included. */
  body: unknown;
}

/** A job as the provider shows it at a poll. */
export interface JobSnapshot {
  /** The provider's status, as shown to users. */
  status: string;
  /** The job ended: no request of it runs any more, and its results can be read. */
  ended: boolean;
  /**
   * The job ended refused as a whole before running (OpenAI `failed`): the lines it names (0-based
   * positions in the job) and why, or none; `quota` when the refusal was an enqueued-token limit.
   */
  refused?: { lines: { position: number; code: string; message: string }[]; message: string; quota: boolean };
  /** It ended, but the results its counts promise are not readable yet (a late output file id). */
  resultsPending?: boolean;
  /** What `results` needs to read them: file ids, a URL. */
  resultsAt?: unknown;
}

/** What a result line says of its item, and what the request used (an answer that fails waymark's checks was still billed). */
export type LineOutcome = ({ result: unknown } | { error: { type: string; message: string; retryable: boolean } }) & { usage?: Usage };

export interface ResultLine {
  customId: unknown;
  outcome: LineOutcome;
}

/** A job that was created and not recorded, looked for by listing the provider's jobs. */
export interface LostJob {
  key: string;
  batchId: string;
  /** When the create was about to be sent (epoch ms), and how many requests the job held. */
  creatingAt: number;
  requests: number;
  /** Whether a result's custom_id is one of the job's: tells a lost job from others once results are readable. */
  holds: (customId: unknown) => boolean;
}

export type FoundJob = { found: string } | { none: true } | { ambiguous: string[] };

export interface ProviderClient {
  /** The provider's name as the ledger records it, e.g. `openai`. */
  readonly provider: string;
  /** The request body of one item; throws NonRetryableItemError when the item does not fit the template. */
  requestBody(item: unknown): unknown;
  /** The request as the job carries it (a JSONL line, or an entry of the requests array), for its size. */
  requestLine(request: JobRequest): string;
  /** Uploads the job's input when the API takes it as a file first (OpenAI); returns the file's id. */
  upload?(job: { key: string; lines: string[] }): Promise<string>;
  /** Deletes an uploaded input file, so that a create still on its way with it fails. */
  discardUpload?(fileId: string): Promise<void>;
  /** Creates the job; returns the provider's id of it. */
  create(job: { key: string; batchId: string; fileId?: string; lines: string[] }): Promise<string>;
  /** Looks for a job whose create may have been made and never recorded. */
  find(job: LostJob, recorded: (ids: string[]) => Promise<string[]>): Promise<FoundJob>;
  poll(jobId: string): Promise<JobSnapshot>;
  /** Every result line of an ended job: the output and the error files, or the result stream. */
  results(snapshot: JobSnapshot): AsyncIterable<ResultLine>;
  cancel(jobId: string): Promise<void>;
}

/**
 * A call to the provider's API that did not do what was asked. `kind`: `quota` (429, wait
 * `retryAfterMs`), `transient` (5xx, the network: try again later), `not-found` (404),
 * `refused` (another 4xx: the request itself is wrong), `credentials` (401, 403).
 */
export class ProviderCallError extends Error {
  constructor(
    readonly kind: 'quota' | 'transient' | 'not-found' | 'refused' | 'credentials',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderCallError';
  }
}

/** How a provider batch processor runs a batch's items: its client and the limits of one job. */
export interface ProviderBatchPlan {
  client: ProviderClient;
  /** How long the workflow waits between two polls of a slice's jobs. */
  pollIntervalMs: number;
  maxRequestsPerJob: number;
  maxBytesPerJob: number;
}

/** The refusal of a whole request, with the job's lines it names (0-based), when it names any. */
export class JobRefusedError extends ProviderCallError {
  constructor(
    message: string,
    readonly positions: number[],
  ) {
    super('refused', message);
    this.name = 'JobRefusedError';
  }
}
