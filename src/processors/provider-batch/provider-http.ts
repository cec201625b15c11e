/**
 * HTTP to a provider's batch API: the spec's headers with `${env:NAME}` filled from the worker's
 * environment at each call (keys never enter the spec or workflow history), answers that are not
 * 2xx turned into ProviderCallError by kind, and JSONL result files read line by line.
 */
import { hostname } from 'node:os';
import { ProcessorCannotStartError } from '../processor';
import { fillEnv } from '../http/template';
import { quotaWaitFromHeaders } from '../http/quota-wait';
import { maskUrl, maskValues } from '../../mask-secrets';
import { ProviderCallError } from './provider-client';
import type { ProviderOptions } from './provider-options';

/** A 429 that says nothing of how long: the wait before the next try. */
export const DEFAULT_QUOTA_WAIT_MS = 60_000;
/** An answer's body kept in an error message, at most. */
const ERROR_BODY_CHARS = 500;
/** One call, at most: uploads and result files of a job of 50,000 requests take seconds, not this. */
const CALL_TIMEOUT_MS = 10 * 60_000;

/** A request body that is JSON text already (a job's requests, put together from their lines). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function envMissing(processor: string, header: string, name: string): ProcessorCannotStartError {
  return new ProcessorCannotStartError(
    `processor "${processor}" cannot start on ${hostname()}: header "${header}" names the environment variable ${name} (\${env:${name}}), which is not set. ` +
      `No job could be sent, so the batch stops here. Set ${name} in the environment of every worker (its value never enters the spec or workflow history), then start the batch again`,
    true,
  );
}

export function checkEnv(processor: string, options: ProviderOptions): void {
  for (const { header, name } of options.envNames) if (process.env[name] === undefined) throw envMissing(processor, header, name);
}

export class ProviderHttp {
  constructor(
    private readonly processor: string,
    private readonly options: ProviderOptions,
  ) {}

  /** `path` is under the base URL; an absolute URL (a results URL the API gave) is taken as it is. */
  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.options.baseUrl}${path}`;
  }

  /** A call whose answer is JSON; a non-2xx answer throws ProviderCallError. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body instanceof RawJson ? body.text : JSON.stringify(body);
    const response = await this.call(method, path, body === undefined ? {} : { body: text, type: 'application/json' });
    const answer = await response.text();
    try {
      return JSON.parse(answer) as T;
    } catch {
      throw new ProviderCallError(
        'transient',
        `${method} ${maskUrl(this.url(path))} answered ${response.status} with a body that is not JSON: ${answer.slice(0, ERROR_BODY_CHARS)}`,
      );
    }
  }

  /** A multipart/form-data upload. */
  async form<T>(path: string, form: FormData): Promise<T> {
    const response = await this.call('POST', path, { form });
    return (await response.json()) as T;
  }

  /** The lines of a JSONL answer, as they arrive: a result file of 50,000 lines is never held whole. */
  async *lines(path: string, accept?: string): AsyncIterable<string> {
    const response = await this.call('GET', path, accept === undefined ? {} : { accept });
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line.trim() !== '') yield line;
    }
    rest += decoder.decode();
    if (rest.trim() !== '') yield rest;
  }

  private headers(extra: Record<string, string>): Headers {
    const headers = new Headers();
    for (const [name, template] of Object.entries(this.options.headers)) {
      const filled = fillEnv(template, process.env);
      if ('unset' in filled) throw envMissing(this.processor, name, filled.unset);
      headers.set(name, filled.value);
    }
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return headers;
  }

  private async call(
    method: string,
    path: string,
    send: { body?: string; type?: string; form?: FormData; accept?: string },
  ): Promise<Response> {
    const url = this.url(path);
    const what = `${method} ${maskUrl(url)}`;
    const headers = this.headers({ ...(send.type ? { 'content-type': send.type } : {}), ...(send.accept ? { accept: send.accept } : {}) });
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: send.form ?? send.body, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ProviderCallError('transient', `${what} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (response.ok) return response;
    const body = maskValues((await response.text().catch(() => '')).slice(0, ERROR_BODY_CHARS), this.secrets());
    throw callError(what, response, body);
  }

  /** The values the headers take from the environment: secrets, as a rule, never shown. */
  private secrets(): string[] {
    return this.options.envNames.map(({ name }) => process.env[name] ?? '');
  }
}

function callError(what: string, response: Response, body: string): ProviderCallError {
  const status = response.status;
  const detail = `${what} answered ${status}${body ? `: ${body}` : ''}`;
  if (status === 429) {
    const wait = quotaWaitFromHeaders(response.headers);
    return new ProviderCallError('quota', detail, wait?.ms ?? DEFAULT_QUOTA_WAIT_MS);
  }
  if (status === 401 || status === 403) return new ProviderCallError('credentials', detail);
  if (status === 404) return new ProviderCallError('not-found', detail);
  if (status === 408 || status === 409 || status >= 500) return new ProviderCallError('transient', detail);
  return new ProviderCallError('refused', detail);
}
