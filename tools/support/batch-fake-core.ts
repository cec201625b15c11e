/**
 * The model behind the loopback fakes of the providers' batch APIs (openai-batch-fake.ts,
 * anthropic-batch-fake.ts), written from their documented shapes: jobs that hold requests by
 * custom_id, run for `processingMs` on the fake's clock, and end with a result per request, in an
 * order of their own (reversed: a client that maps by line order is caught). Knobs make a job
 * expire with part of its requests unrun, give chosen requests error results, refuse lines at
 * validation, answer 500 or 429 on create, keep an ended job's results back for a few polls,
 * answer 404 to the first polls of a new job, and let a test kill the worker at a chosen call.
 * Every job created is kept, so a test counts the jobs that held each item.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/** A request's error result, as a knob chooses it: `invalid` (400), `rate_limit` (429), `server` (500), `overloaded` (529). */
export type FakeLineError = 'invalid' | 'rate_limit' | 'server' | 'overloaded';

/**
 * Where a test interrupts the client: at the `nth` call of `route`, before acting, after acting
 * (no answer), or midway through a result file.
 */
export interface FakeInterrupt {
  route: 'upload' | 'create' | 'poll' | 'results';
  when: 'before' | 'after' | 'midway';
  nth?: number;
  /** Called at that moment: a test SIGKILLs its worker here. */
  then: () => void;
}

export interface BatchFakeOptions {
  /** A job ends this long after its create, on the fake's clock (default 1 s). */
  processingMs?: number;
  /** The fake's clock, epoch ms; a time-skipping test gives the test server's. Default: Date.now. */
  clock?: () => number | Promise<number>;
  /** Of the first `expireJobs` jobs, this share of the requests is left unrun and the job ends expired. */
  expireFraction?: number;
  expireJobs?: number;
  /** A request's error result, by its custom_id and how many jobs held it before this one (0 the first time). */
  errorLine?: (customId: string, earlierJobs: number) => FakeLineError | undefined;
  /** A request that fails validation: the message; OpenAI fails the job naming its line, Anthropic refuses the create. */
  rejectLine?: (body: unknown) => string | undefined;
  /** The first N creates answer 500; with `createdAnyway`, after creating the job. */
  createFailures?: number;
  createdAnyway?: boolean;
  /** The first N creates answer 429 with Retry-After: 1. */
  createQuotas?: number;
  /** The first job fails at its enqueued-token limit (OpenAI). */
  tokenLimitOnce?: boolean;
  /** An ended job shows no result file id (OpenAI) or results URL (Anthropic) for this many polls. */
  lateResultsPolls?: number;
  /** A new job answers 404 to this many polls after its create. */
  transient404Polls?: number;
  /** Requests without this key get 401. */
  apiKey?: string;
  interrupt?: FakeInterrupt;
}

export interface FakeRequest {
  customId: string;
  body: unknown;
}

export interface FakeResult {
  customId: string;
  /** The answer's body, or the error. */
  answer?: unknown;
  error?: FakeLineError | 'expired' | 'cancelled';
}

export interface FakeJob {
  id: string;
  createdAt: number;
  requests: FakeRequest[];
  metadata?: Record<string, string>;
  /** Set when it ended: its status then and its results. */
  ended?: { at: number; status: 'completed' | 'expired' | 'cancelled' | 'failed'; results: FakeResult[] };
  cancelAt?: number;
  /** Validation errors (OpenAI): 1-based lines; a token limit names none. */
  failed?: { code: string; message: string; line: number | null }[];
  polls: number;
  pollsAfterEnd: number;
}

export interface FakeRoute {
  name: string;
  /** The interrupt route this is, if any. */
  interruptible?: FakeInterrupt['route'];
}

/** What one route answers: a status and a JSON body, or a body of lines (a result file). */
export type FakeAnswer = { status: number; json: unknown; headers?: Record<string, string> } | { status: 200; lines: string[] };

export class BatchFakeCore {
  readonly jobs: FakeJob[] = [];
  /** Every call, by route name. */
  readonly calls: { route: string; at: number }[] = [];
  private creates = 0;
  private readonly routeCounts = new Map<string, number>();
  private nextId = 1;
  /** Ids are unique across fakes, as the provider's are: tests run several fakes against one ledger. */
  private readonly idTag = randomBytes(3).toString('hex');

  constructor(readonly options: BatchFakeOptions) {}

  async now(): Promise<number> {
    return (await this.options.clock?.()) ?? Date.now();
  }

  newId(prefix: string): string {
    return `${prefix}${this.idTag}${String(this.nextId++).padStart(6, '0')}`;
  }

  /** How many created jobs held each custom id: exactly 1 each is what waymark promises without expiry or retryable errors. */
  jobsHolding(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const job of this.jobs) for (const r of job.requests) counts.set(r.customId, (counts.get(r.customId) ?? 0) + 1);
    return counts;
  }

  /** A create, as the knobs answer it: a new job, or an error status and whether the job was made anyway. */
  async create(requests: FakeRequest[], metadata?: Record<string, string>): Promise<{ job?: FakeJob; error?: number }> {
    this.creates++;
    const failing = this.creates <= (this.options.createFailures ?? 0);
    if (this.creates <= (this.options.createQuotas ?? 0)) return { error: 429 };
    if (failing && !this.options.createdAnyway) return { error: 500 };
    const job: FakeJob = { id: '', createdAt: await this.now(), requests, metadata, polls: 0, pollsAfterEnd: 0 };
    if (this.options.tokenLimitOnce && this.jobs.length === 0) {
      job.failed = [
        {
          code: 'token_limit_exceeded',
          message: 'Enqueued token limit reached for the model. Please try again once some in_progress batches have been completed.',
          line: null,
        },
      ];
    }
    this.jobs.push(job);
    return failing ? { job, error: 500 } : { job };
  }

  /** Moves the job on to where the clock says, and counts the poll; `undefined` for a 404 the knobs ask for. */
  async poll(job: FakeJob): Promise<FakeJob | undefined> {
    job.polls++;
    if (job.polls <= (this.options.transient404Polls ?? 0)) return undefined;
    await this.advance(job);
    if (job.ended) job.pollsAfterEnd++;
    return job;
  }

  /** Whether an ended job's results are shown yet. */
  resultsShown(job: FakeJob): boolean {
    return job.ended !== undefined && job.pollsAfterEnd > (this.options.lateResultsPolls ?? 0);
  }

  async cancel(job: FakeJob): Promise<void> {
    job.cancelAt ??= await this.now();
  }

  async advance(job: FakeJob): Promise<void> {
    if (job.ended) return;
    const now = await this.now();
    const processingMs = this.options.processingMs ?? 1000;
    if (job.failed) {
      job.ended = { at: now, status: 'failed', results: [] };
      return;
    }
    if (job.cancelAt !== undefined) {
      // Requests done by the time of the cancel keep their answers; the rest never run.
      const done = Math.floor(job.requests.length * Math.min(1, (job.cancelAt - job.createdAt) / processingMs));
      job.ended = { at: now, status: 'cancelled', results: this.results(job, done, 'cancelled') };
      return;
    }
    if (now < job.createdAt + processingMs) return;
    const expiring = this.jobs.indexOf(job) < (this.options.expireJobs ?? 1) && (this.options.expireFraction ?? 0) > 0;
    const run = expiring ? Math.round(job.requests.length * (1 - this.options.expireFraction!)) : job.requests.length;
    job.ended = { at: now, status: expiring ? 'expired' : 'completed', results: this.results(job, run, 'expired') };
  }

  /** The first `run` requests answered (or errored as the knob says), the rest `unrun`; reversed, so line order means nothing. */
  private results(job: FakeJob, run: number, unrun: 'expired' | 'cancelled'): FakeResult[] {
    const earlier = new Map<string, number>();
    for (const other of this.jobs.slice(0, this.jobs.indexOf(job))) {
      for (const r of other.requests) earlier.set(r.customId, (earlier.get(r.customId) ?? 0) + 1);
    }
    return job.requests
      .map((r, i): FakeResult => {
        if (i >= run) return { customId: r.customId, error: unrun };
        const error = this.options.errorLine?.(r.customId, earlier.get(r.customId) ?? 0);
        return error ? { customId: r.customId, error } : { customId: r.customId, answer: r.body };
      })
      .reverse();
  }

  /** Counts the call and applies the interrupt when it is this one: 'skip' (before: do nothing), 'drop' (after: act, answer nothing). */
  interruptAt(route: FakeInterrupt['route']): FakeInterrupt['when'] | undefined {
    const n = (this.routeCounts.get(route) ?? 0) + 1;
    this.routeCounts.set(route, n);
    const interrupt = this.options.interrupt;
    if (interrupt === undefined || interrupt.route !== route || (interrupt.nth ?? 1) !== n) return undefined;
    return interrupt.when;
  }
}

/** The text a fake model answers a request with: what the request asked, echoed, so a test checks each result is its own item's. */
export function echoText(body: unknown): string {
  const messages = (body as { messages?: { content?: unknown }[] } | undefined)?.messages;
  const content = messages?.[messages.length - 1]?.content;
  return `echo: ${typeof content === 'string' ? content : JSON.stringify(content ?? body)}`;
}

export interface FakeServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `handle` on loopback; an interrupted call is cut off (no answer), as a killed worker would see it. */
export async function serveFake(
  core: BatchFakeCore,
  handle: (
    req: IncomingMessage,
    body: Buffer,
  ) => Promise<{ answer?: FakeAnswer; route?: FakeInterrupt['route']; act?: () => Promise<FakeAnswer> }>,
  authorized: (req: IncomingMessage) => boolean,
): Promise<FakeServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      respond(core, req, res, Buffer.concat(chunks), handle, authorized).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(err) } }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function respond(
  core: BatchFakeCore,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  handle: (
    req: IncomingMessage,
    body: Buffer,
  ) => Promise<{ answer?: FakeAnswer; route?: FakeInterrupt['route']; act?: () => Promise<FakeAnswer> }>,
  authorized: (req: IncomingMessage) => boolean,
): Promise<void> {
  core.calls.push({ route: `${req.method} ${req.url}`, at: Date.now() });
  if (!authorized(req)) return send(res, { status: 401, json: { error: { type: 'authentication_error', message: 'invalid api key' } } });
  const routed = await handle(req, body);
  if (routed.answer) return send(res, routed.answer);
  const when = routed.route ? core.interruptAt(routed.route) : undefined;
  if (when === 'before') {
    core.options.interrupt!.then();
    res.destroy();
    return;
  }
  const answer = await routed.act!();
  if (when === 'after') {
    core.options.interrupt!.then();
    res.destroy();
    return;
  }
  if (when === 'midway' && 'lines' in answer) {
    res.writeHead(200, { 'content-type': 'application/jsonl' });
    res.write(answer.lines.slice(0, Math.ceil(answer.lines.length / 2)).join('\n'));
    core.options.interrupt!.then();
    res.destroy();
    return;
  }
  send(res, answer);
}

function send(res: ServerResponse, answer: FakeAnswer): void {
  if ('lines' in answer) {
    res.writeHead(200, { 'content-type': 'application/jsonl' });
    res.end(answer.lines.map((l) => `${l}\n`).join(''));
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.json));
}
