/**
 * The `http` processor against a real HTTP server on loopback (tools/support/quota-api-server):
 * templates, env headers, the idempotency key, quota waits from every header form, the bounded
 * backoff for a 429 without a time, and the failure rows for 4xx, 5xx, timeouts and big answers.
 */
import { HTTP_RESPONSE_CAP_BYTES, httpProcessor } from '../../src/processors/http/http';
import { MAX_UNTIMED_QUOTA_WAITS } from '../../src/processors/http/quota-wait';
import { FETCH_BLOCKED_PORTS } from '../../src/processors/http/blocked-ports';
import { RetryableItemError } from '../../src/processors/errors';
import {
  NonRetryableItemError,
  ProcessorCannotStartError,
  ProcessorOptionsError,
  QuotaExhaustedError,
  type ProcessorContext,
} from '../../src/processors/processor';
import { parseBatchSpec } from '../../src/contract/batch-spec';
import { ItemRunner } from '../../src/activities/run-item';
import { score, startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { makeContext } from './context';
import { rejectionOf } from '../helpers/rejection';

const failure = (promise: Promise<unknown>) => rejectionOf(promise, 'the processor to fail');
const silentLog = { info() {}, warn() {}, error() {} };

function thrownBy(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the check to throw');
}

describe('http', () => {
  let api: QuotaApi;
  let nextIndex = 1000;

  beforeEach(async () => {
    api = await startQuotaApi();
  });
  afterEach(async () => {
    await api.close();
  });

  /** Each call gets its own index unless told, so untimed-wait counts never carry over between tests. */
  function run(item: unknown, options: Record<string, unknown> = {}, ctx: Partial<ProcessorContext> = {}): Promise<unknown> {
    const index = ctx.index ?? nextIndex++;
    return httpProcessor.process(item, makeContext({ index, options: { url: `${api.url}/enrich/{id}`, ...options }, ...ctx }));
  }

  describe('requests', () => {
    it('fills the URL from the item, each value URL-encoded, and sends Idempotency-Key batchId:index', async () => {
      const id = 'a b/c?d&é';
      const result = await run({ id, n: 7, meta: { tag: '#x' } }, { url: `${api.url}/enrich/{id}?n={n}&tag={meta.tag}` }, { index: 3 });
      expect(result).toEqual({ id, score: score(id), usage: { tokens: id.length } });
      expect(api.requests).toMatchObject([
        { method: 'GET', path: '/enrich/a%20b%2Fc%3Fd%26%C3%A9?n=7&tag=%23x', idempotencyKey: 'batch-1:3', body: '', status: 200 },
      ]);
    });

    it('{.} is the whole item, for text sources', async () => {
      await run('word one', { url: `${api.url}/enrich/{.}` });
      expect(api.requests[0].path).toBe('/enrich/word%20one');
    });

    it('an item without a field the template names is a non-retryable http-template row, and nothing is sent', async () => {
      const err = await failure(run({ name: 'x' }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'http-template', message: expect.stringContaining('no field "id"') });
      expect(api.requests).toHaveLength(0);
    });

    it('POST sends the item JSON by default; a body template keeps a whole placeholder JSON-typed', async () => {
      await run({ id: 1, tags: ['a'] }, { method: 'POST' });
      await run({ id: 2, tags: ['b'] }, { method: 'post', body: { q: 'id={id}', tags: '{tags}', fixed: true } });
      expect(api.requests.map((r) => [r.method, r.contentType, JSON.parse(r.body)])).toEqual([
        ['POST', 'application/json', { id: 1, tags: ['a'] }],
        ['POST', 'application/json', { q: 'id=2', tags: ['b'], fixed: true }],
      ]);
    });

    it('header values read ${env:NAME} from the worker at request time', async () => {
      process.env.WAYMARK_TEST_API_TOKEN = 's3cret';
      try {
        await run({ id: 1 }, { headers: { Authorization: 'Bearer ${env:WAYMARK_TEST_API_TOKEN}', 'X-Plain': 'yes' } });
      } finally {
        delete process.env.WAYMARK_TEST_API_TOKEN;
      }
      expect(api.requests[0].authorization).toBe('Bearer s3cret');
    });

    it("keeps the same Idempotency-Key on every attempt (5xx retried) and a redrive keeps the redriven batch's", async () => {
      const spec = parseBatchSpec({
        source: { kind: 'jsonl', path: '/unused.jsonl' },
        processor: { name: 'http', options: { url: `${api.url}/enrich/{id}` } },
        itemAttempts: 3,
        itemBackoffMs: 10,
      });
      api.script.push({ status: 500, body: 'boom' }, { reset: true });
      const runner = new ItemRunner({
        batchId: 'b1',
        spec,
        processor: httpProcessor,
        log: silentLog,
        sliceSignal: new AbortController().signal,
      });
      const run1 = await runner.run({ index: 5, value: { id: 'x' } });
      runner.close();
      expect(run1).toMatchObject({ kind: 'outcome', outcome: { status: 'succeeded', attempts: 3 } });
      expect(api.requests.map((r) => [r.status, r.idempotencyKey])).toEqual([
        [500, 'b1:5'],
        [0, 'b1:5'],
        [200, 'b1:5'],
      ]);

      const redrive = new ItemRunner({
        batchId: 'b1-redrive-1',
        spec: { ...spec, redriveOf: 'b1' },
        processor: httpProcessor,
        log: silentLog,
        sliceSignal: new AbortController().signal,
      });
      await redrive.run({ index: 5, value: { id: 'x' } });
      redrive.close();
      // The API recognises the key and replays its stored answer instead of doing the work twice.
      expect(api.requests.at(-1)).toMatchObject({ idempotencyKey: 'b1:5', replayed: true });
    });
  });

  describe('quota waits', () => {
    it('429 with Retry-After seconds: a quota wait of that long', async () => {
      api.script.push({ status: 429, headers: { 'retry-after': '7' } });
      const err = await failure(run({ id: 1 }));
      expect(err).toBeInstanceOf(QuotaExhaustedError);
      expect((err as QuotaExhaustedError).retryAfterMs).toBe(7000);
      expect(err.message).toContain('Retry-After: 7');
      // The cause status gives a cut of adaptive lanes.
      expect((err as QuotaExhaustedError).signal).toBe('http 429');
    });

    it('429 with Retry-After as an HTTP date: a wait until then', async () => {
      api.script.push({ status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } });
      const { retryAfterMs } = (await failure(run({ id: 1 }))) as QuotaExhaustedError;
      expect(retryAfterMs).toBeGreaterThan(27_000);
      expect(retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it('503 with RateLimit-Reset, and 429 with X-RateLimit-Reset as seconds or a Unix time', async () => {
      api.script.push(
        { status: 503, headers: { 'ratelimit-reset': '4' } },
        { status: 429, headers: { 'x-ratelimit-reset': '3' } },
        { status: 429, headers: { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60) } },
        { status: 429, headers: { 'retry-after': '0' } },
      );
      const waits = [];
      for (let i = 0; i < 4; i++) waits.push(((await failure(run({ id: 1 }))) as QuotaExhaustedError).retryAfterMs);
      expect(waits[0]).toBe(4000);
      expect(waits[1]).toBe(3000);
      expect(waits[2]).toBeGreaterThan(58_000);
      expect(waits[2]).toBeLessThanOrEqual(60_000);
      // A wait of 0 still waits a second, so an API cannot make the batch spin.
      expect(waits[3]).toBe(1000);
    });

    it(`429 without a time: ${MAX_UNTIMED_QUOTA_WAITS} backoff waits (no attempt), then failed attempts; any other answer resets the count`, async () => {
      const index = 77;
      const refusals = MAX_UNTIMED_QUOTA_WAITS + 2;
      for (let i = 0; i < refusals; i++) api.script.push({ status: 429, body: 'slow down' });
      const errors = [];
      for (let i = 0; i < refusals; i++) errors.push(await failure(run({ id: 1 }, {}, { index })));
      expect(errors.slice(0, MAX_UNTIMED_QUOTA_WAITS).map((e) => (e as QuotaExhaustedError).retryAfterMs)).toEqual([
        1000, 2000, 4000, 8000, 16000,
      ]);
      for (const err of errors.slice(MAX_UNTIMED_QUOTA_WAITS)) {
        expect(err).toBeInstanceOf(RetryableItemError);
        expect(err).toMatchObject({ type: 'http-429', message: expect.stringContaining('slow down') });
      }
      // A success clears it: the next untimed 429 starts the backoff over.
      await run({ id: 1 }, {}, { index });
      api.script.push({ status: 503 });
      expect(((await failure(run({ id: 1 }, {}, { index }))) as QuotaExhaustedError).retryAfterMs).toBe(1000);
      expect(api.requests).toHaveLength(refusals + 2);
    });
  });

  describe('failures', () => {
    it('other 4xx: a non-retryable http-STATUS row with the status and the start of the body', async () => {
      const err = await failure(run({ id: 1 }, { url: `${api.url}/nowhere/{id}` }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'http-404' });
      expect(err.message).toMatch(
        /^GET http:\/\/127\.0\.0\.1:\d+\/nowhere\/1 answered 404 Not Found; .*body: \{"error":"no route for GET \/nowhere\/1"\}$/,
      );
    });

    it('a failure row masks the secrets of the URL and any header value from the environment that the API echoes', async () => {
      const queryKey = await failure(run({ id: 1 }, { url: `${api.url}/nowhere/{id}?api_key=k-7f3a9c&page=2` }));
      expect(queryKey.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/nowhere\/1\?api_key=\*\*\*&page=2 answered 404/);
      expect(queryKey.message).not.toContain('k-7f3a9c');

      const userPassword = await failure(run({ id: 1 }, { url: `http://user:hunter2-pw@${new URL(api.url).host}/enrich/{id}` }));
      expect(userPassword.message).toContain('user:***@');
      expect(userPassword.message).not.toContain('hunter2-pw');

      process.env.WAYMARK_TEST_ECHOED_TOKEN = 'tok-55aa91bb';
      try {
        api.script.push({ status: 401, body: '{"error": "invalid credentials: Bearer tok-55aa91bb"}' });
        const echoed = await failure(run({ id: 1 }, { headers: { Authorization: 'Bearer ${env:WAYMARK_TEST_ECHOED_TOKEN}' } }));
        expect(echoed).toMatchObject({ type: 'http-401' });
        expect(echoed.message).toContain('invalid credentials: Bearer ***');
        expect(echoed.message).not.toContain('tok-55aa91bb');
      } finally {
        delete process.env.WAYMARK_TEST_ECHOED_TOKEN;
      }
    });

    it('5xx and 408: retryable http-STATUS; a reset connection: retryable http-network', async () => {
      api.script.push({ status: 502, body: 'bad gateway' }, { status: 408 }, { reset: true });
      const errors = [await failure(run({ id: 1 })), await failure(run({ id: 1 })), await failure(run({ id: 1 }))];
      for (const err of errors) expect(err).toBeInstanceOf(RetryableItemError);
      expect(errors.map((e) => (e as RetryableItemError).type)).toEqual(['http-502', 'http-408', 'http-network']);
    });

    it('timeoutMs: a retryable http-timeout', async () => {
      api.script.push({ status: 200, body: '{}', delayMs: 2000 });
      const started = Date.now();
      const err = await failure(run({ id: 1 }, { timeoutMs: 100 }));
      expect(err).toMatchObject({ type: 'http-timeout', message: expect.stringContaining('timeoutMs (100 ms)') });
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('an item stop (timeout or cancellation) passes its reason through', async () => {
      api.script.push({ status: 200, body: '{}', delayMs: 2000 });
      const controller = new AbortController();
      const stop = new Error('slice cancelled');
      setTimeout(() => controller.abort(stop), 50);
      expect(await failure(run({ id: 1 }, {}, { signal: controller.signal }))).toBe(stop);
    });

    it('an answer over 64 KiB: a non-retryable http-response-too-large row, never a result cut short', async () => {
      const big = JSON.stringify({ data: 'x'.repeat(HTTP_RESPONSE_CAP_BYTES) });
      api.script.push(
        { status: 200, body: big },
        { status: 200, body: 'y'.repeat(HTTP_RESPONSE_CAP_BYTES), headers: { 'content-type': 'text/plain' } },
      );
      const err = await failure(run({ id: 1 }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'http-response-too-large', message: expect.stringContaining('more than 65536 bytes') });
      // Exactly the cap is fine.
      expect(await run({ id: 1 })).toBe('y'.repeat(HTTP_RESPONSE_CAP_BYTES));
    });
  });

  describe('results', () => {
    it('text for non-JSON answers; resultPointer picks the result from JSON', async () => {
      api.script.push({ status: 200, body: 'plain', headers: { 'content-type': 'text/plain' } });
      expect(await run({ id: 1 })).toBe('plain');
      expect(await run({ id: 'k' }, { resultPointer: '/score' })).toBe(score('k'));
      const err = await failure(run({ id: 'k' }, { resultPointer: '/missing' }));
      expect(err).toMatchObject({ type: 'http-result-missing' });
    });

    it('usagePointer reports usage beside a plain result: an object of numbers, or a number named by the last segment', async () => {
      const reports: unknown[] = [];
      const reportUsage = (usage: unknown) => void reports.push(usage);
      expect(await run({ id: 'abc' }, { resultPointer: '/score', usagePointer: '/usage' }, { reportUsage })).toBe(score('abc'));
      expect(await run({ id: 'k' }, { usagePointer: '/usage/tokens' }, { reportUsage })).toEqual({
        id: 'k',
        score: score('k'),
        usage: { tokens: 1 },
      });
      expect(reports).toEqual([{ tokens: 3 }, { tokens: 1 }]);
    });

    it('an answer without usage at usagePointer still succeeds, with a warning that names the pointer', async () => {
      const warnings: string[] = [];
      const log = { ...silentLog, warn: (message: string) => void warnings.push(message) };
      const reportUsage = jest.fn();
      expect(await run({ id: 'k' }, { resultPointer: '/score', usagePointer: '/cost' }, { reportUsage, log })).toBe(score('k'));
      expect(reportUsage).not.toHaveBeenCalled();
      expect(warnings).toEqual([expect.stringMatching(/nothing at usagePointer \/cost.*no usage reported/)]);
    });

    it('an answer without the result at resultPointer is a failure row that still reports the usage it was served with', async () => {
      const reportUsage = jest.fn();
      const err = await failure(run({ id: 'abc' }, { resultPointer: '/missing', usagePointer: '/usage' }, { reportUsage }));
      expect(err).toMatchObject({ type: 'http-result-missing' });
      expect(reportUsage).toHaveBeenCalledWith({ tokens: 3 });
    });

    it('through ItemRunner, the reported usage goes with the outcome', async () => {
      const spec = parseBatchSpec({
        source: { kind: 'jsonl', path: '/x' },
        processor: { name: 'http', options: { url: `${api.url}/enrich/{id}`, usagePointer: '/usage' } },
      });
      const runner = new ItemRunner({
        batchId: 'b1',
        spec,
        processor: httpProcessor,
        log: silentLog,
        sliceSignal: new AbortController().signal,
      });
      const run1 = await runner.run({ index: 0, value: { id: 'four' } });
      runner.close();
      expect(run1).toMatchObject({ kind: 'outcome', outcome: { status: 'succeeded', usage: { tokens: 4 } } });
    });
  });

  describe('options', () => {
    const check = (options: Record<string, unknown>) => thrownBy(() => httpProcessor.validateOptions!(options));

    it.each([
      [{}, /option "url" must be a URL template/],
      [{ url: 'ftp://x/{id}' }, /option "url" must be an http: or https: URL/],
      [{ url: 'not a url {id}' }, /option "url" is not an absolute URL/],
      [{ url: 'https://x/${env:T}' }, /option "url" names an environment variable/],
      [{ url: 'https://x', method: 'HEAD' }, /option "method" must be one of GET, POST, PUT, PATCH, DELETE/],
      [{ url: 'https://x', headers: { 'Idempotency-Key': 'k' } }, /option "headers" sets "Idempotency-Key", which waymark sets itself/],
      [{ url: 'https://x', headers: { A: 1 } }, /option "headers" value of "A" must be a string/],
      [{ url: 'https://x', headers: { A: '${env:1X}' } }, /"1X" is not an environment variable name/],
      [{ url: 'https://x', body: { a: 1 } }, /option "body" is set, but a GET request has no body/],
      [{ url: 'https://x', timeoutMs: 0 }, /option "timeoutMs" must be a whole number of milliseconds, at least 1/],
      [{ url: 'https://x', resultPointer: 'data' }, /option "resultPointer" "data" is not a JSON pointer/],
      [{ url: 'https://x', timeout: 5 }, /has no option "timeout"/],
      [{ url: 'http://127.0.0.1:9/{id}' }, /option "url" uses port 9, which fetch refuses to connect to .*serve the API on another port/],
    ])('refuses %j, naming the option', (options, message) => {
      const err = check(options);
      expect(err).toBeInstanceOf(ProcessorOptionsError);
      expect(err.message).toMatch(message);
    });

    it("knows the ports Node's fetch refuses: each listed one fails with bad port, its neighbours do not, and a port from the item is left to it", async () => {
      const badPort = async (port: number) => {
        const err = await rejectionOf(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }), 'fetch to fail');
        return String((err as { cause?: Error }).cause?.message).includes('bad port');
      };
      const ports = [...FETCH_BLOCKED_PORTS];
      expect((await Promise.all(ports.map(badPort))).every(Boolean)).toBe(true);
      const neighbours = ports.flatMap((p) => [p - 1, p + 1]).filter((p) => p > 0 && !FETCH_BLOCKED_PORTS.has(p));
      expect((await Promise.all(neighbours.map(badPort))).some(Boolean)).toBe(false);
      expect(() => httpProcessor.validateOptions!({ url: 'http://127.0.0.1:{port}/x' })).not.toThrow();
    });

    it('accepts a full set of options', () => {
      expect(() =>
        httpProcessor.validateOptions!({
          url: 'https://api.example.com/users/{id}',
          method: 'PATCH',
          headers: { Authorization: 'Bearer ${env:API_TOKEN}' },
          body: { name: '{name}' },
          timeoutMs: 5000,
          resultPointer: '/data',
          usagePointer: '/usage',
        }),
      ).not.toThrow();
    });

    it('checkCanStart fails, naming the header and the variable, when a named environment variable is not set', () => {
      delete process.env.WAYMARK_TEST_MISSING_TOKEN;
      const options = { url: 'https://x', headers: { Authorization: 'Bearer ${env:WAYMARK_TEST_MISSING_TOKEN}' } };
      const err = thrownBy(() => httpProcessor.checkCanStart!(options));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err.message).toMatch(/header "Authorization" names the environment variable WAYMARK_TEST_MISSING_TOKEN .*which is not set/);
      process.env.WAYMARK_TEST_MISSING_TOKEN = 'set';
      try {
        expect(() => httpProcessor.checkCanStart!(options)).not.toThrow();
      } finally {
        delete process.env.WAYMARK_TEST_MISSING_TOKEN;
      }
    });

    it('a variable unset mid-batch fails the slice (ProcessorCannotStartError) without a request', async () => {
      const err = await failure(run({ id: 1 }, { headers: { 'X-Key': '${env:WAYMARK_TEST_MISSING_TOKEN}' } }));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(api.requests).toHaveLength(0);
    });
  });
});
