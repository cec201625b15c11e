/**
 * `http`: one HTTP request per item, its answer mapped to waymark's outcomes.
 *
 * | answer                                  | outcome                                                     |
 * | --------------------------------------- | ----------------------------------------------------------- |
 * | 2xx                                     | success: the body, parsed when JSON (else text), or the     |
 * |                                         | value at resultPointer. Over 64 KiB: NonRetryableItemError  |
 * |                                         | http-response-too-large, never a result cut short           |
 * | 429, 503 with Retry-After / RateLimit-  | quota wait of that long (QuotaExhaustedError): the batch    |
 * | Reset / X-RateLimit-Reset               | waits on a durable timer, no attempt charged                |
 * | 429, 503 without a time                 | quota wait with backoff (1, 2, 4, 8, 16 s), then failed     |
 * |                                         | attempts (http-429 / http-503)                              |
 * | 408, other 5xx, reset connection,       | failed attempt, retried with backoff                        |
 * | timeoutMs                               | (http-500, http-network, http-timeout, ...)                 |
 * | other 4xx (and 3xx not followed)        | NonRetryableItemError http-STATUS with the body's start     |
 *
 * Every request carries `Idempotency-Key: ctx.idempotencyKey` (batchId:index; the redriven
 * batch's id in a redrive), the same on every attempt, resume and redrive, so an API that honours
 * it does each item's work once. Header values may name the worker's environment variables as
 * `${env:NAME}`; a variable missing on the worker fails the batch before any item
 * (checkCanStart), so keys stay on workers and out of specs and workflow history.
 *
 * Usage: usagePointer names where a 2xx JSON answer says what the item used; it is reported
 * through ctx.reportUsage and kept in the ledger next to the result, which stays as it is. At the
 * pointer, an object gives its number fields as units (OpenAI's `/usage` gives prompt_tokens,
 * completion_tokens, total_tokens; nested objects are left out), a number is the unit named by
 * the pointer's last segment (`/usage/total_tokens` gives total_tokens). Nothing there, or
 * something else, is a warning in the worker's log: the item still succeeds.
 */
import { hostname } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { ReadableStreamReadResult } from 'node:stream/web';
import {
  defineProcessor,
  NonRetryableItemError,
  ProcessorCannotStartError,
  QuotaExhaustedError,
  type ProcessorContext,
} from '../processor';
import { RetryableItemError } from '../errors';
import { itemJson } from '../item-text';
import { parseHttpOptions, type HttpOptions } from './http-options';
import { resolveJsonPointer } from './json-pointer';
import { MAX_UNTIMED_QUOTA_WAITS, quotaWaitFromHeaders, UntimedQuotaWaits } from './quota-wait';
import { fillBody, fillEnv, fillUrl } from './template';
import { maskUrl, maskValues, urlSecrets } from '../../mask-secrets';

/** The most response body a result may hold; more is a failure, never a result cut short. */
export const HTTP_RESPONSE_CAP_BYTES = 64 * 1024;
/** How much of an error answer's body a failure row keeps. */
const ERROR_BODY_CHARS = 512;

const untimedWaits = new UntimedQuotaWaits();

function envMissing(header: string, name: string): ProcessorCannotStartError {
  return new ProcessorCannotStartError(
    `processor "http" cannot start on ${hostname()}: header "${header}" names the environment variable ${name} (\${env:${name}}), which is not set. ` +
      `Every item would fail the same way, so the batch stops here. Set ${name} in the environment of every worker ` +
      '(its value never enters the spec or workflow history), then start the batch again',
    // Like a program looked up on PATH: another machine (a worker) may have it.
    true,
  );
}

function checkEnv(options: HttpOptions): void {
  for (const { header, name } of options.envNames) {
    if (process.env[name] === undefined) throw envMissing(header, name);
  }
}

/** The values the headers take from the worker's environment (`${env:NAME}`): secrets, as a rule. */
function headerSecrets(options: HttpOptions): string[] {
  return options.envNames.map(({ name }) => process.env[name] ?? '');
}

function requestHeaders(options: HttpOptions, ctx: ProcessorContext, hasBody: boolean): Headers {
  const headers = new Headers();
  for (const [name, template] of Object.entries(options.headers)) {
    const filled = fillEnv(template, process.env);
    if ('unset' in filled) throw envMissing(name, filled.unset);
    try {
      headers.set(name, filled.value);
    } catch {
      throw new ProcessorCannotStartError(
        `processor "http" cannot send header "${name}" on ${hostname()}: the value its environment variables give is not a valid header value (a line break or a character outside Latin-1?). Fix the variable on the worker, then start the batch again`,
        true,
      );
    }
  }
  headers.set('idempotency-key', ctx.idempotencyKey);
  if (hasBody && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return headers;
}

function requestBody(options: HttpOptions, item: unknown): string | undefined {
  switch (options.body.kind) {
    case 'none':
      return undefined;
    case 'item':
      return itemJson(item);
    case 'template': {
      const filled = fillBody(options.body.template, item);
      return typeof filled === 'string' ? filled : itemJson(filled);
    }
  }
}

/** The item's signal, also aborted after timeoutMs; `timedOut` tells the two apart. */
function requestSignal(
  itemSignal: AbortSignal,
  timeoutMs: number | undefined,
): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  if (timeoutMs === undefined) return { signal: itemSignal, timedOut: () => false, done: () => {} };
  const controller = new AbortController();
  let timedOut = false;
  const onItemAbort = () => controller.abort(itemSignal.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  if (itemSignal.aborted) onItemAbort();
  else itemSignal.addEventListener('abort', onItemAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      itemSignal.removeEventListener('abort', onItemAbort);
    },
  };
}

interface CappedBody {
  text: string;
  /** More than the cap arrived (or Content-Length announced it); `text` holds the first part only. */
  overCap: boolean;
  bytesRead: number;
}

/** Reads at most `cap` bytes of the body and drops the rest of the connection's answer. */
async function readCapped(response: Response, cap: number): Promise<CappedBody> {
  const decoder = new StringDecoder('utf8');
  if (response.body === null) return { text: '', overCap: false, bytesRead: 0 };
  const announced = Number(response.headers.get('content-length') ?? NaN);
  if (announced > cap) {
    await response.body.cancel();
    return { text: '', overCap: true, bytesRead: announced };
  }
  const reader = response.body.getReader();
  let text = '';
  let bytesRead = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
    if (done) return { text: text + decoder.end(), overCap: false, bytesRead };
    bytesRead += value.length;
    if (bytesRead > cap) {
      await reader.cancel();
      return { text, overCap: true, bytesRead };
    }
    text += decoder.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
}

function isJson(response: Response): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(response.headers.get('content-type') ?? '');
}

function bodyStart(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'the body was empty';
  return `body: ${trimmed.length > ERROR_BODY_CHARS ? `${trimmed.slice(0, ERROR_BODY_CHARS)}…` : trimmed}`;
}

/** Why fetch threw: the item's own stop passes through, the rest is a failed attempt. */
function requestFailure(
  err: unknown,
  what: string,
  ctxSignal: AbortSignal,
  timeoutMs: number | undefined,
  timedOut: boolean,
  url: string,
): unknown {
  if (ctxSignal.aborted) return ctxSignal.reason;
  if (timedOut) {
    return new RetryableItemError(
      `${what} got no complete answer within timeoutMs (${timeoutMs} ms); counted as a failed attempt. Raise processor.options.timeoutMs if the API needs longer`,
      'http-timeout',
    );
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // fetch quotes the URL it refuses (one with user:password, say), secrets and all.
  const masked = (text: string) => text.replaceAll(url, maskUrl(url));
  const reason = masked(cause?.code ?? cause?.message ?? (err as Error).message);
  return new RetryableItemError(
    `${what} failed: ${reason} (${masked((err as Error).message)}); counted as a failed attempt`,
    'http-network',
  );
}

function successResult(options: HttpOptions, what: string, response: Response, body: CappedBody, ctx: ProcessorContext): unknown {
  if (body.overCap) {
    throw new NonRetryableItemError(
      `${what} answered ${response.status} with more than ${HTTP_RESPONSE_CAP_BYTES} bytes (64 KiB, the cap on an http result; ${body.bytesRead} bytes read before stopping), ` +
        'so nothing was stored; the same request would get the same answer, so it is not retried. Ask the API for less, or use resultPointer on a smaller answer',
      'http-response-too-large',
    );
  }
  const pointers = options.resultPointer !== undefined || options.usagePointer !== undefined;
  if (!isJson(response)) {
    if (pointers) {
      throw new NonRetryableItemError(
        `${what} answered ${response.status} with ${response.headers.get('content-type') ?? 'no content type'}, not JSON, so resultPointer/usagePointer cannot be applied; ${bodyStart(body.text)}`,
        'http-not-json',
      );
    }
    return body.text;
  }
  if (body.text.trim() === '') return null;
  let document: unknown;
  try {
    document = JSON.parse(body.text);
  } catch (err) {
    throw new RetryableItemError(
      `${what} answered ${response.status} with JSON that does not parse (${(err as Error).message}); counted as a failed attempt; ${bodyStart(body.text)}`,
      'http-invalid-json',
    );
  }
  // Reported first: an answer the result pointer finds nothing in was still served, and billed.
  if (options.usagePointer !== undefined) reportUsageAt(document, options.usagePointer, what, ctx);
  let result = document;
  if (options.resultPointer !== undefined) {
    const found = resolveJsonPointer(document, options.resultPointer);
    if ('missing' in found) {
      throw new NonRetryableItemError(
        `${what} answered ${response.status}, but its JSON has nothing at resultPointer (no "${found.missing}"); ${bodyStart(body.text)}`,
        'http-result-missing',
      );
    }
    result = found.value;
  }
  return result;
}

/** Reports the usage found at usagePointer, or warns that there is none to report. */
function reportUsageAt(document: unknown, pointer: string[], what: string, ctx: ProcessorContext): void {
  const found = resolveJsonPointer(document, pointer);
  const value = 'value' in found ? found.value : undefined;
  const unit = pointer.at(-1);
  if (typeof value === 'number' && unit !== undefined) {
    ctx.reportUsage({ [unit]: value });
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    ctx.reportUsage(Object.fromEntries(Object.entries(value).filter(([, amount]) => typeof amount === 'number')));
  } else {
    const at = `/${pointer.join('/')}`;
    ctx.log.warn(
      `item ${ctx.index}: ${what} answered with ${'missing' in found ? `nothing at usagePointer ${at}` : `${JSON.stringify(value)} at usagePointer ${at}`}, not a number or an object of numbers; no usage reported. Point usagePointer at the answer's usage`,
      { batchId: ctx.batchId, index: ctx.index },
    );
  }
}

/** A 429 or 503: a quota wait while the API says how long, or while the untimed waits last; then a failed attempt. */
function quotaAnswer(what: string, response: Response, body: CappedBody, key: string): Error {
  const status = response.status;
  const wait = quotaWaitFromHeaders(response.headers);
  if (wait !== undefined) {
    untimedWaits.clear(key);
    return new QuotaExhaustedError(
      wait.ms,
      `${what} answered ${status} with ${wait.header}; the batch waits ${wait.ms} ms, then retries the item without charging an attempt`,
      `http ${status}`,
    );
  }
  const backoffMs = untimedWaits.next(key);
  if (backoffMs !== undefined) {
    return new QuotaExhaustedError(
      backoffMs,
      `${what} answered ${status} without saying how long to wait (no Retry-After, RateLimit-Reset or X-RateLimit-Reset); the batch waits ${backoffMs} ms (at most ${MAX_UNTIMED_QUOTA_WAITS} such waits per item), no attempt charged`,
      `http ${status}`,
    );
  }
  return new RetryableItemError(
    `${what} answered ${status} without a time to wait ${MAX_UNTIMED_QUOTA_WAITS} times in a row; now counted as a failed attempt, so an API that always refuses cannot hold the batch; ${bodyStart(body.text)}`,
    `http-${status}`,
  );
}

export const httpProcessor = defineProcessor(
  async (item, ctx): Promise<unknown> => {
    const options = parseHttpOptions(ctx.options);
    const url = fillUrl(options.url, item);
    const body = requestBody(options, item);
    const headers = requestHeaders(options, ctx, body !== undefined);
    const what = `${options.method} ${maskUrl(url)}`;
    const request = requestSignal(ctx.signal, options.timeoutMs);
    let response: Response;
    let answer: CappedBody;
    try {
      response = await fetch(url, { method: options.method, headers, body, signal: request.signal });
      answer = await readCapped(response, HTTP_RESPONSE_CAP_BYTES);
    } catch (err) {
      throw requestFailure(err, what, ctx.signal, options.timeoutMs, request.timedOut(), url);
    } finally {
      request.done();
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      untimedWaits.clear(ctx.idempotencyKey);
      return successResult(options, what, response, answer, ctx);
    }
    // An error answer goes into a failure row: an API that echoes the request's credentials must not put them there.
    answer = { ...answer, text: maskValues(answer.text, [...headerSecrets(options), ...urlSecrets(url)]) };
    if (status === 429 || status === 503) throw quotaAnswer(what, response, answer, ctx.idempotencyKey);
    untimedWaits.clear(ctx.idempotencyKey);
    const detail = `${what} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (status === 408 || status >= 500) {
      throw new RetryableItemError(`${detail}; counted as a failed attempt; ${bodyStart(answer.text)}`, `http-${status}`);
    }
    throw new NonRetryableItemError(
      `${detail}; the same request would get the same answer, so it is not retried; ${bodyStart(answer.text)}`,
      `http-${status}`,
    );
  },
  {
    validateOptions: (options) => void parseHttpOptions(options),
    checkCanStart: (options) => checkEnv(parseHttpOptions(options)),
  },
);
