/**
 * A small rate-limited enrichment API on loopback, for the `http` processor's tests and demos:
 * a real HTTP server that keeps its own quota (a token bucket: `capacity` requests every
 * `periodMs`; beyond it 429 with the wait in a header), answers `GET|POST /enrich/ID` with
 * `{"id", "score", "usage": {"tokens"}}`, honours Idempotency-Key (a key that already succeeded
 * gets the stored answer again, marked `Idempotent-Replayed: true`, at no quota cost) and records
 * every request it answers, so a test can check what an API would have seen.
 *
 * Run on its own for a demo (examples/http-enrich.json):
 *   API_TOKEN=demo node dist/tools/support/quota-api-server.js 8787 20 2000   # port, requests, per ms
 *
 * Tests steer single answers with `script`: each scripted answer is used for the next request,
 * whatever its path, before the quota and the routes are consulted.
 *
 * A hidden limit for adaptive lanes: `maxInFlight` refuses requests beyond that many at once (429
 * with Retry-After: 1), `latencyMs` makes each answer take as long as a real API's would, and
 * `setLimits` changes either quota while the API runs (a limit that halves mid-batch).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenBucket } from './token-bucket';

/** How a 429 says when to come back. */
export type QuotaHeader = 'retry-after' | 'retry-after-date' | 'ratelimit-reset' | 'x-ratelimit-reset' | 'none';

export interface QuotaApiOptions {
  /** Requests per period; unlimited when absent. */
  capacity?: number;
  periodMs?: number;
  quotaHeader?: QuotaHeader;
  /** When set, requests without `Authorization: Bearer TOKEN` get 401. */
  bearerToken?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Requests answered at once at most; beyond it 429 with a wait of one second. Unlimited when absent. */
  maxInFlight?: number;
  /** How long each answer of the enrich route takes, from its arrival. */
  latencyMs?: number;
}

/** The quotas `setLimits` can change on a running API. */
export interface QuotaLimits {
  /** Requests per period (the period stays); the bucket starts full. */
  capacity?: number;
  maxInFlight?: number;
}

export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (a slow API). */
  delayMs?: number;
  /** Destroy the connection instead of answering (a reset connection). */
  reset?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
  /** 0 for a connection destroyed without an answer. */
  status: number;
  /** A stored answer sent again for a key that had already succeeded. */
  replayed: boolean;
  at: number;
}

export interface QuotaApi {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly script: ScriptedAnswer[];
  /** Changes a quota from the next request on. */
  setLimits(limits: QuotaLimits): void;
  close(): Promise<void>;
}

/** The most request body the server reads; a test API has no need for more. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export async function startQuotaApi(options: QuotaApiOptions = {}): Promise<QuotaApi> {
  const newBucket = (capacity: number | undefined) =>
    capacity === undefined ? undefined : new TokenBucket(capacity, options.periodMs ?? 1000, () => Date.now());
  let bucket = newBucket(options.capacity);
  let maxInFlight = options.maxInFlight;
  let inFlight = 0;
  const requests: RecordedRequest[] = [];
  const script: ScriptedAnswer[] = [];
  const succeeded = new Map<string, string>();
  /** Delays of scripted answers still running, cleared on close so no timer outlives the server. */
  const delays = new Set<NodeJS.Timeout>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.add(timer);
    });

  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => answer(req, res, body),
      () => res.destroy(),
    );
  });

  async function answer(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const key = header(req, 'idempotency-key');
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      idempotencyKey: key,
      authorization: header(req, 'authorization'),
      contentType: header(req, 'content-type'),
      body,
      status: 0,
      replayed: false,
      at: Date.now(),
    };
    requests.push(record);
    const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload);
    };

    const scripted = script.shift();
    if (scripted !== undefined) {
      if (scripted.delayMs !== undefined) await delay(scripted.delayMs);
      if (scripted.reset) {
        res.destroy();
        return;
      }
      send(scripted.status ?? 200, scripted.body ?? '', scripted.headers);
      return;
    }
    if (options.bearerToken !== undefined && record.authorization !== `Bearer ${options.bearerToken}`) {
      send(401, JSON.stringify({ error: 'missing or wrong bearer token' }));
      return;
    }
    const match = /^\/enrich\/([^/?]+)/.exec(record.path);
    if (match === null || (req.method !== 'GET' && req.method !== 'POST')) {
      send(404, JSON.stringify({ error: `no route for ${req.method} ${record.path}` }));
      return;
    }
    const stored = key === undefined ? undefined : succeeded.get(key);
    if (stored !== undefined) {
      record.replayed = true;
      send(200, stored, { 'idempotent-replayed': 'true' });
      return;
    }
    if (maxInFlight !== undefined && inFlight >= maxInFlight) {
      send(429, JSON.stringify({ error: 'too many requests at once' }), quotaHeaders(options.quotaHeader ?? 'retry-after', 1000));
      return;
    }
    const taken = bucket?.take() ?? { ok: true };
    if (!taken.ok) {
      send(429, JSON.stringify({ error: 'quota exhausted' }), quotaHeaders(options.quotaHeader ?? 'retry-after', taken.retryAfterMs));
      return;
    }
    const id = decodeURIComponent(match[1]);
    const payload = JSON.stringify({ id, score: score(id), usage: { tokens: id.length + body.length } });
    inFlight++;
    try {
      if (options.latencyMs !== undefined) await delay(options.latencyMs);
    } finally {
      inFlight--;
    }
    if (key !== undefined) succeeded.set(key, payload);
    send(200, payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    setLimits: (limits) => {
      if ('capacity' in limits) bucket = newBucket(limits.capacity);
      if ('maxInFlight' in limits) maxInFlight = limits.maxInFlight;
    },
    close: () =>
      new Promise((resolve) => {
        delays.forEach((timer) => clearTimeout(timer));
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The wait as the chosen header says it, rounded up to whole seconds so no client comes back early. */
function quotaHeaders(kind: QuotaHeader, retryAfterMs: number): Record<string, string> {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  switch (kind) {
    case 'retry-after':
      return { 'retry-after': String(seconds) };
    case 'retry-after-date':
      return { 'retry-after': new Date(Date.now() + seconds * 1000).toUTCString() };
    case 'ratelimit-reset':
      return { 'ratelimit-reset': String(seconds) };
    case 'x-ratelimit-reset':
      return { 'x-ratelimit-reset': String(Math.ceil((Date.now() + retryAfterMs) / 1000)) };
    case 'none':
      return {};
  }
}

/** A stable score from 0 to 99 for an id, so an answer can be checked without the server. */
export function score(id: string): number {
  return createHash('sha256').update(id).digest()[0] % 100;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

if (require.main === module) {
  const [port = '8787', capacity = '20', periodMs = '2000'] = process.argv.slice(2);
  startQuotaApi({ port: Number(port), capacity: Number(capacity), periodMs: Number(periodMs), bearerToken: process.env.API_TOKEN }).then(
    (api) =>
      console.log(
        `quota API on ${api.url}: ${capacity} requests per ${periodMs} ms${process.env.API_TOKEN ? ', bearer token from API_TOKEN' : ''}; Ctrl-C to stop`,
      ),
    (err: Error) => {
      console.error(`cannot start the quota API: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
