/** The `http` processor's options, checked at `waymark start` and on the worker before the first item. */
import { ProcessorOptionsError } from '../processor';
import { describeValue, integerOption, rejectUnknownOptions } from '../options';
import { parseJsonPointer } from './json-pointer';
import { envNames, sampleUrl } from './template';
import { FETCH_BLOCKED_PORTS } from './blocked-ports';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof METHODS)[number];
const METHODS_WITH_ITEM_BODY: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers waymark or the HTTP client sets itself. */
const RESERVED_HEADERS = ['idempotency-key', 'content-length', 'host', 'transfer-encoding', 'connection'];

export interface HttpOptions {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  /** The environment variables the headers name, for the worker's check. */
  envNames: Array<{ header: string; name: string }>;
  /** 'item': the item's JSON; 'none': no body; else a template (see fillBody). */
  body: { kind: 'item' } | { kind: 'none' } | { kind: 'template'; template: unknown };
  timeoutMs?: number;
  resultPointer?: string[];
  usagePointer?: string[];
}

const failFor = (message: string, processor: string): never => {
  throw new ProcessorOptionsError(`processor "${processor}" ${message}`);
};
const fail = (message: string): never => failFor(message, 'http');

export function parseHttpOptions(options: Record<string, unknown>): HttpOptions {
  rejectUnknownOptions('http', options, ['url', 'method', 'headers', 'body', 'timeoutMs', 'resultPointer', 'usagePointer']);
  const method = methodOption(options.method);
  const headers = headersOption(options.headers);
  return {
    url: urlOption(options.url),
    method,
    headers,
    envNames: Object.entries(headers).flatMap(([header, value]) =>
      envNames(value, `option "headers" value of "${header}"`).map((name) => ({ header, name })),
    ),
    body: bodyOption(method, options),
    timeoutMs: integerOption('http', options, 'timeoutMs', 1, 'milliseconds'),
    resultPointer: pointerOption(options, 'resultPointer'),
    usagePointer: pointerOption(options, 'usagePointer'),
  };
}

function urlOption(url: unknown): string {
  const example = 'e.g. "url": "https://api.example.com/users/{id}"';
  if (typeof url !== 'string' || url === '') fail(`option "url" must be a URL template (a string), got ${describeValue(url)}; ${example}`);
  const template = url as string;
  if (template.includes('${env:')) {
    fail(
      'option "url" names an environment variable; ${env:NAME} is read only in "headers" values, so keep secrets in a header (e.g. "Authorization": "Bearer ${env:API_TOKEN}")',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(sampleUrl(template));
  } catch {
    return fail(`option "url" is not an absolute URL once its {field} placeholders are filled: ${describeValue(template)}; ${example}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`option "url" must be an http: or https: URL, got ${parsed.protocol} in ${describeValue(template)}`);
  }
  // A port filled from the item is the item's business; one written in the template fails every item alike.
  const port = Number(parsed.port);
  if (FETCH_BLOCKED_PORTS.has(port) && new URL(sampleUrl(template, '8080')).port === parsed.port) {
    fail(
      `option "url" uses port ${port}, which fetch refuses to connect to (a "bad port" of the Fetch Standard: every request would fail with "bad port"); serve the API on another port, e.g. 8080`,
    );
  }
  return template;
}

function methodOption(method: unknown): HttpMethod {
  if (method === undefined) return 'GET';
  const upper = typeof method === 'string' ? method.toUpperCase() : method;
  if (!METHODS.includes(upper as HttpMethod)) fail(`option "method" must be one of ${METHODS.join(', ')}, got ${describeValue(method)}`);
  return upper as HttpMethod;
}

/** The `headers` option: header names to string values that may name `${env:NAME}`; shared by the provider batch processors. */
export function headersOption(headers: unknown, processor = 'http'): Record<string, string> {
  const fail = (message: string): never => failFor(message, processor);
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    fail(
      `option "headers" must be an object of header names to string values, e.g. {"Authorization": "Bearer \${env:API_TOKEN}"}, got ${describeValue(headers)}`,
    );
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (!HEADER_NAME.test(name)) fail(`option "headers" has ${describeValue(name)}, which is not an HTTP header name`);
    if (RESERVED_HEADERS.includes(name.toLowerCase())) {
      fail(
        `option "headers" sets "${name}", which waymark sets itself${name.toLowerCase() === 'idempotency-key' ? ' (batchId:index, the same on every attempt, resume and redrive)' : ''}; remove it`,
      );
    }
    if (typeof value !== 'string') fail(`option "headers" value of "${name}" must be a string, got ${describeValue(value)}`);
    if (/[\r\n\0]/.test(value as string))
      fail(`option "headers" value of "${name}" contains a line break or NUL, which no header value may hold`);
    try {
      envNames(value as string, `option "headers" value of "${name}"`);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  return headers as Record<string, string>;
}

function bodyOption(method: HttpMethod, options: Record<string, unknown>): HttpOptions['body'] {
  if (!('body' in options) || options.body === undefined)
    return METHODS_WITH_ITEM_BODY.includes(method) ? { kind: 'item' } : { kind: 'none' };
  if (options.body === null) return { kind: 'none' };
  if (method === 'GET') fail('option "body" is set, but a GET request has no body; use "method": "POST" (or PUT, PATCH) or remove "body"');
  return { kind: 'template', template: options.body };
}

/** A JSON pointer option (`resultPointer`, `usagePointer`); shared by the provider batch processors. */
export function pointerOption(options: Record<string, unknown>, name: string, processor = 'http'): string[] | undefined {
  const fail = (message: string): never => failFor(message, processor);
  const pointer = options[name];
  if (pointer === undefined) return undefined;
  if (typeof pointer !== 'string')
    return fail(`option "${name}" must be a JSON pointer (RFC 6901) such as "/data/score", got ${describeValue(pointer)}`);
  const parsed = parseJsonPointer(pointer);
  if ('problem' in parsed) return fail(`option "${name}" ${describeValue(pointer)} is not a JSON pointer: ${parsed.problem}`);
  return parsed;
}
