/**
 * The options of the provider batch processors (`openai-batch`, `anthropic-batch`), checked at
 * `waymark start` and on the worker before the first job. They are `http`'s where they mean the
 * same (a body template per item, headers with `${env:NAME}`, resultPointer), plus what a
 * provider job needs: the model, the API's base URL, the most requests and bytes per job, and how
 * often the workflow polls a job while it runs.
 */
import { ProcessorOptionsError } from '../processor';
import { describeValue, integerOption, rejectUnknownOptions } from '../options';
import { headersOption, pointerOption } from '../http/http-options';
import { envNames } from '../http/template';
import { FETCH_BLOCKED_PORTS } from '../http/blocked-ports';

/** What differs between the providers: names, defaults and limits. */
export interface ProviderDefaults {
  /** The processor's name, as specs give it. */
  processor: string;
  baseUrl: string;
  /** The headers sent when the spec gives none: the API key from the worker's environment. */
  headers: Record<string, string>;
  /** Headers the API needs whatever the spec's headers are (Anthropic's version), added when absent. */
  requiredHeaders: Record<string, string>;
  /** The provider's own limits on one job: the defaults and the most a spec may ask. */
  maxRequestsPerJob: number;
  maxBytesPerJob: number;
  /** Options only this provider takes. */
  extraOptions: readonly string[];
}

export interface ProviderOptions {
  /** The request body of each item: a template filled as `http`'s body is, then given the model. */
  body: Record<string, unknown>;
  model: string;
  baseUrl: string;
  headers: Record<string, string>;
  /** The environment variables the headers name, for the worker's check. */
  envNames: Array<{ header: string; name: string }>;
  maxRequestsPerJob: number;
  maxBytesPerJob: number;
  pollIntervalMs: number;
  resultPointer?: string[];
  /** The model's standard (synchronous) prices in USD per million tokens; usage then has `costUsd` at the batch price. */
  pricePerMTok?: { input: number; output: number };
  /** The options only this provider takes, as the spec gave them. */
  extra: Record<string, unknown>;
}

/** The workflow polls a job this often by default: a Temporal Cloud action or two per poll. */
export const DEFAULT_POLL_INTERVAL_MS = 60_000;
/** The shortest interval a spec may ask: fakes and proxies answer fast; a real provider rarely ends a job in seconds. */
const MIN_POLL_INTERVAL_MS = 100;
/** The longest: a job that ended is collected within this, and its results are kept for 29-30 days. */
const MAX_POLL_INTERVAL_MS = 3_600_000;

const COMMON_OPTIONS = [
  'body',
  'model',
  'baseUrl',
  'headers',
  'maxRequestsPerJob',
  'maxBytesPerJob',
  'pollIntervalMs',
  'resultPointer',
  'pricePerMTok',
] as const;

export function parseProviderOptions(defaults: ProviderDefaults, options: Record<string, unknown>): ProviderOptions {
  const name = defaults.processor;
  const fail = (message: string): never => {
    throw new ProcessorOptionsError(`processor "${name}" ${message}`);
  };
  rejectUnknownOptions(name, options, [...COMMON_OPTIONS, ...defaults.extraOptions]);
  const headers = { ...(options.headers === undefined ? defaults.headers : headersOption(options.headers, name)) };
  for (const [header, value] of Object.entries(defaults.requiredHeaders)) {
    if (!Object.keys(headers).some((h) => h.toLowerCase() === header)) headers[header] = value;
  }
  const limit = (option: 'maxRequestsPerJob' | 'maxBytesPerJob', most: number, unit: string): number => {
    const value = integerOption(name, options, option, 1, unit) ?? most;
    if (value > most)
      fail(`option "${option}" is ${value}, more than the provider takes in one job (${most} ${unit}); leave it out for that`);
    return value;
  };
  const pollIntervalMs = integerOption(name, options, 'pollIntervalMs', MIN_POLL_INTERVAL_MS, 'milliseconds') ?? DEFAULT_POLL_INTERVAL_MS;
  if (pollIntervalMs > MAX_POLL_INTERVAL_MS)
    fail(`option "pollIntervalMs" must be at most ${MAX_POLL_INTERVAL_MS} (an hour), got ${pollIntervalMs}`);
  return {
    body: bodyOption(options.body, fail),
    model: modelOption(options.model, fail),
    baseUrl: baseUrlOption(options.baseUrl ?? defaults.baseUrl, fail),
    headers,
    envNames: Object.entries(headers).flatMap(([header, value]) =>
      envNames(value, `option "headers" value of "${header}"`).map((env) => ({ header, name: env })),
    ),
    maxRequestsPerJob: limit('maxRequestsPerJob', defaults.maxRequestsPerJob, 'requests'),
    maxBytesPerJob: limit('maxBytesPerJob', defaults.maxBytesPerJob, 'bytes'),
    pollIntervalMs,
    resultPointer: pointerOption(options, 'resultPointer', name),
    ...priceOption(options.pricePerMTok, fail),
    extra: Object.fromEntries(defaults.extraOptions.filter((o) => options[o] !== undefined).map((o) => [o, options[o]])),
  };
}

function bodyOption(body: unknown, fail: (message: string) => never): Record<string, unknown> {
  const example = 'e.g. {"messages": [{"role": "user", "content": "Summarise: {text}"}], "max_tokens": 200}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(
      `option "body" must be the request body of one item as a JSON object template (strings may hold {field} placeholders), ${example}; got ${describeValue(body)}`,
    );
  }
  if ('model' in body) fail('option "body" sets "model"; give the model with option "model" instead (one job holds requests to one model)');
  if ('stream' in body) fail('option "body" sets "stream"; batch APIs answer each request whole, so remove it');
  return body as Record<string, unknown>;
}

function modelOption(model: unknown, fail: (message: string) => never): string {
  if (typeof model !== 'string' || model.trim() === '')
    return fail(`option "model" must name the model every request of the batch goes to, got ${describeValue(model)}`);
  return model;
}

function baseUrlOption(value: unknown, fail: (message: string) => never): string {
  if (typeof value !== 'string')
    return fail(`option "baseUrl" must be the API's base URL, e.g. "https://api.openai.com/v1", got ${describeValue(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`option "baseUrl" is not an absolute URL: ${describeValue(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`option "baseUrl" must be an http: or https: URL, got ${url.protocol}`);
  if (FETCH_BLOCKED_PORTS.has(Number(url.port)))
    fail(`option "baseUrl" uses port ${url.port}, which fetch refuses to connect to; use another port`);
  if (value.includes('${env:')) fail('option "baseUrl" names an environment variable; ${env:NAME} is read only in "headers" values');
  return value.replace(/\/+$/, '');
}

function priceOption(value: unknown, fail: (message: string) => never): { pricePerMTok?: { input: number; output: number } } {
  if (value === undefined) return {};
  const example = 'e.g. {"input": 0.15, "output": 0.6}: the model\'s standard prices in USD per million tokens';
  if (typeof value !== 'object' || value === null)
    return fail(`option "pricePerMTok" must be an object, ${example}; got ${describeValue(value)}`);
  const { input, output, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) fail(`option "pricePerMTok" has no field "${extra}"; ${example}`);
  for (const [field, price] of [
    ['input', input],
    ['output', output],
  ] as const) {
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
      fail(`option "pricePerMTok.${field}" must be a price, 0 or more, ${example}; got ${describeValue(price)}`);
  }
  return { pricePerMTok: { input: input as number, output: output as number } };
}
