/**
 * Every mistake a user can make when starting a batch is refused before any work (I9), with exit
 * status 1 and one line on stderr that says what was wrong and what to do.
 *
 * TEMPORAL_ADDRESS points at a port where nothing listens, so a mistake that slipped past
 * validation would show up as a connection error instead of starting a batch somewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const NO_SERVER = '127.0.0.1:1';

describe('waymark start refuses mistakes with one clear line', () => {
  let dir: string;
  let input: string;
  const waymark = (...args: string[]): Promise<CliRun> =>
    runCli(args, {
      cwd: dir,
      env: { TEMPORAL_ADDRESS: NO_SERVER, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: `cli-mistakes-${process.pid}` },
    });
  /** A CliError: exit 1, nothing on stdout, exactly `waymark: MESSAGE` on stderr. */
  const refused = (message: string): CliRun => ({ code: 1, stdout: '', stderr: `waymark: ${message}\n` });
  /** A flag the parser (commander) rejects, followed by its pointer to the help. */
  const rejectedFlag = (message: string): CliRun => ({
    code: 1,
    stdout: '',
    stderr: `waymark: ${message}\n(run \`waymark help\` for the commands)\n`,
  });
  const writeSpec = (name: string, spec: unknown): string => {
    fs.writeFileSync(path.join(dir, name), typeof spec === 'string' ? spec : JSON.stringify(spec));
    return name;
  };

  beforeAll(() => {
    dir = makeRealTempDir('waymark-cli-mistakes-');
    input = path.join(dir, 'items.jsonl');
    fs.writeFileSync(input, '{"id":1}\n{"id":2}\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names a missing input file by its absolute path', async () => {
    expect(await waymark('start', 'missing.jsonl', '--processor', 'sha256')).toEqual(
      refused(`source not found: ${path.join(dir, 'missing.jsonl')}; check the path (source.path in a spec file)`),
    );
  });

  it('lists the known processors for an unknown one and says how to add one', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha512')).toEqual(
      refused(
        'unknown processor "sha512"; known processors: anthropic-batch, exec, exec-persistent, http, noop, openai-batch, sha256, sleep. ' +
          'Use one of them, or name your processor module in WAYMARK_PROCESSORS (comma-separated .js paths) for both `waymark start` and `waymark worker`',
      ),
    );
  });

  it('refuses a slice larger than a workflow run (S > N)', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--slice', '500', '--checkpoint-every', '100')).toEqual(
      refused(
        'invalid batch spec: sliceSize (500) is larger than checkpointEvery (100); a slice must fit in one workflow run: lower sliceSize or raise checkpointEvery',
      ),
    );
  });

  it('refuses N that is not a multiple of S and suggests one that is', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--slice', '30', '--checkpoint-every', '100')).toEqual(
      refused('invalid batch spec: checkpointEvery (100) is not a multiple of sliceSize (30); use e.g. 90'),
    );
  });

  it('refuses adaptive lanes for a provider batch processor and asks for a number of jobs', async () => {
    const run = await waymark(
      'start',
      input,
      '--processor',
      'openai-batch',
      '--concurrency',
      'auto',
      '--option',
      'model=gpt-4o-mini',
      '--option',
      'body={"messages": []}',
    );
    expect(run).toEqual(
      refused(
        'processor "openai-batch" sends items as jobs to a provider\'s batch API, which runs them at its own pace: concurrency "auto" has nothing to find there; give a number instead (--concurrency N: the provider jobs running at once, e.g. 4)',
      ),
    );
  });

  it('refuses --concurrency 0 in the flag parser', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--concurrency', '0')).toEqual(
      rejectedFlag(
        `option '--concurrency <n>' argument '0' is invalid. --concurrency takes a number of lanes from 1 to 1000, "auto" (lanes found between 1 and 64) or "auto:MIN-MAX" (e.g. auto:4-128), got "0"`,
      ),
    );
  });

  it.each([
    ['auto:9-3', '--concurrency auto:MIN-MAX needs MIN <= MAX (the fewest lanes, then the most), got "auto:9-3"'],
    ['auto:0-8', '--concurrency auto:MIN-MAX needs 1 <= MIN and MAX <= 1000, got "auto:0-8"'],
    [
      'automatic',
      '--concurrency takes a number of lanes from 1 to 1000, "auto" (lanes found between 1 and 64) or "auto:MIN-MAX" (e.g. auto:4-128), got "automatic"',
    ],
  ])('refuses --concurrency %s in the flag parser, saying what it takes', async (flag, message) => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--concurrency', flag)).toEqual(
      rejectedFlag(`option '--concurrency <n>' argument '${flag}' is invalid. ${message}`),
    );
  });

  it.each([
    [{ auto: { min: 8, max: 2 } }, 'concurrency.auto has min above max: min is the fewest lanes, max the most, e.g. {"min": 1, "max": 64}'],
    [{ auto: { max: 5000 } }, 'concurrency.auto.max must be at most 1000 (the most lanes)'],
    [{ auto: { min: 1, most: 8 } }, 'concurrency.auto.most is not a known field; remove it (known fields: min, max)'],
    [{ auto: {}, min: 2 }, 'concurrency.min is not a known field; remove it (known fields: auto)'],
    [
      { automatic: true },
      'concurrency must be a whole number of lanes from 1 to 1000, or {"auto": {"min": 1, "max": 64}} for lanes found by themselves, got an object',
    ],
    [
      '8',
      'concurrency must be a whole number of lanes from 1 to 1000, or {"auto": {"min": 1, "max": 64}} for lanes found by themselves, got the string "8"',
    ],
  ])('refuses a --spec concurrency of %j, naming the field and the fix', async (concurrency, message) => {
    const spec = writeSpec('auto.json', { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' }, concurrency });
    expect(await waymark('start', '--spec', spec)).toEqual(refused(`invalid batch spec: ${message}`));
  });

  it.each(['1.5', '-3'])('refuses --slice %s in the flag parser', async (slice) => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--slice', slice)).toEqual(
      rejectedFlag(`option '--slice <n>' argument '${slice}' is invalid. --slice takes a whole number of at least 1, got "${slice}"`),
    );
  });

  it('names an unknown field of a --spec file and lists the known ones', async () => {
    const spec = writeSpec('typo.json', { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' }, sliceSzie: 10 });
    expect(await waymark('start', '--spec', spec)).toEqual(
      refused(
        'invalid batch spec: sliceSzie is not a known field; remove it (known fields: source, processor, sliceSize, checkpointEvery, ' +
          'concurrency, commitGroup, itemsPerCall, itemAttempts, itemTimeoutMs, itemBackoffMs, itemBackoffMaxMs, toleratedFailureCount, ' +
          'toleratedFailurePercent, redriveOf, itemCrashLimit, heartbeatTimeoutMs, budget, rateLimit, priority, fairnessKey, fairnessWeight, notify)',
      ),
    );
  });

  it.each([
    [{ unit: 'tokens', max: 0 }, 'budget.max must be more than 0: the most of the unit the batch may use'],
    [
      { unit: 'total tokens', max: 5 },
      'budget.unit must be a unit name: a letter, then up to 63 letters, digits or _, e.g. "tokens" or "costUsd"',
    ],
    [{ unit: 'tokens' }, 'budget.max is required'],
    [{ unit: 'tokens', max: '5' }, 'budget.max must be a number: the most of the unit the batch may use, got the string "5"'],
    [{ unit: 'tokens', max: 5, per: 'day' }, 'budget.per is not a known field; remove it (known fields: unit, max)'],
  ])('refuses a --spec budget of %j, naming the field and the fix', async (budget, message) => {
    const spec = writeSpec('budget.json', { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' }, budget });
    expect(await waymark('start', '--spec', spec)).toEqual(refused(`invalid batch spec: ${message}`));
  });

  it.each(['tokens', 'tokens=0', 'tokens=lots', 'total tokens=5'])(
    'refuses --budget %s in the flag parser, saying what it takes',
    async (flag) => {
      const run = await waymark('start', 'items.jsonl', '--processor', 'sha256', '--budget', flag);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /^waymark: option '--budget <unit=max>' argument .* is invalid\. --budget takes (UNIT=MAX|a number above 0)/,
      );
    },
  );

  it('names an unknown field nested in source', async () => {
    const spec = writeSpec('nested.json', { source: { kind: 'jsonl', path: 'items.jsonl', header: true }, processor: { name: 'sha256' } });
    expect(await waymark('start', '--spec', spec)).toEqual(
      refused('invalid batch spec: source.header is not a known field; remove it (known fields: kind, path, requireObject, maxItemBytes)'),
    );
  });

  it('refuses a --spec file that is not JSON and shows what it should hold', async () => {
    const spec = writeSpec('broken.json', '{source: jsonl}');
    const run = await waymark('start', '--spec', spec);
    expect(run).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^[^\n]*\n$/) });
    // The parser's own words vary between Node versions; the rest is waymark's.
    expect(run.stderr).toMatch(
      /^waymark: spec file broken\.json is not valid JSON \(.+\); fix it: it must hold one JSON object such as \{"source": \{"kind": "jsonl", "path": "items\.jsonl"\}, "processor": \{"name": "sha256"\}\}\n$/,
    );
  });

  it('names a --spec file that does not exist', async () => {
    expect(await waymark('start', '--spec', 'nowhere.json')).toEqual(
      refused(`spec file not found or unreadable: ${path.join(dir, 'nowhere.json')}; check the path given to --spec`),
    );
  });

  it('refuses --spec together with an input file', async () => {
    const spec = writeSpec('good.json', { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' } });
    expect(await waymark('start', 'items.jsonl', '--spec', spec)).toEqual(
      refused('--spec takes the whole batch from the file; drop the input file and spec flags, or drop --spec'),
    );
  });

  it('refuses table flags for a file source, and a table without its key column', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--key-column', 'id', '--url-env', 'SHOP_DB_URL')).toEqual(
      refused(
        '--key-column, --url-env describe a PostgreSQL table; add --source-kind postgres-table and give the table as the input, or drop them',
      ),
    );
    expect(await waymark('start', 'shop.orders', '--source-kind', 'postgres-table', '--processor', 'sha256')).toEqual(
      refused(
        '--source-kind postgres-table needs --key-column COLUMN: the integer key column (NOT NULL, unique) whose order is the item order',
      ),
    );
    expect(
      await waymark(
        'start',
        'shop.orders',
        '--source-kind',
        'postgres-table',
        '--key-column',
        'id',
        '--columns',
        'id,,email',
        '--processor',
        'sha256',
      ),
    ).toEqual(
      rejectedFlag(
        "option '--columns <list>' argument 'id,,email' is invalid. --columns takes column names separated by commas, e.g. id,email,total, got \"id,,email\"",
      ),
    );
    expect(await waymark('start', 'a.b.c', '--source-kind', 'postgres-table', '--key-column', 'id', '--processor', 'sha256')).toEqual(
      refused('invalid batch spec: source.path ("a.b.c") must name the table as table or schema.table for a postgres-table source'),
    );
  });

  it('refuses a rate limit written wrong, naming the flag or field and how to write it', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--rate-limit', 'openai=60/week')).toEqual(
      rejectedFlag(
        "option '--rate-limit <key=limit/period>' argument 'openai=60/week' is invalid. --rate-limit takes KEY=LIMIT/PERIOD " +
          '(PERIOD: second, minute, hour, day), e.g. openai=60/minute, got "openai=60/week"',
      ),
    );
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--rate-burst', '5')).toEqual(
      refused('--rate-burst belongs to a rate limit; add --rate-limit KEY=LIMIT/PERIOD (e.g. openai=60/minute), or drop it'),
    );
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--rate-limit', 'open ai=0/minute')).toEqual(
      refused(
        'invalid batch spec: rateLimit.key must be 1 to 100 letters, digits or . _ : - (starting with a letter or digit), e.g. "openai"',
      ),
    );
    const perWeek = writeSpec('week.json', {
      source: { kind: 'jsonl', path: 'items.jsonl' },
      processor: { name: 'sha256' },
      rateLimit: { key: 'openai', limit: 60, per: 'week' },
    });
    expect(await waymark('start', '--spec', perWeek)).toEqual(
      refused('invalid batch spec: rateLimit.per must be one of second, minute, hour, day, got the string "week"'),
    );
    const zero = writeSpec('zero.json', {
      source: { kind: 'jsonl', path: 'items.jsonl' },
      processor: { name: 'sha256' },
      rateLimit: { key: 'openai', limit: 0, per: 'minute' },
    });
    expect(await waymark('start', '--spec', zero)).toEqual(
      refused('invalid batch spec: rateLimit.limit must be at least 1 (items per period)'),
    );
    const unknown = writeSpec('rps.json', {
      source: { kind: 'jsonl', path: 'items.jsonl' },
      processor: { name: 'sha256' },
      rateLimit: { key: 'openai', limit: 5, per: 'second', rps: 3 },
    });
    expect(await waymark('start', '--spec', unknown)).toEqual(
      refused('invalid batch spec: rateLimit.rps is not a known field; remove it (known fields: key, limit, per, burst, unit)'),
    );
  });

  it('refuses a command after -- for a processor other than exec and exec-persistent', async () => {
    expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--', 'wc', '-c')).toEqual(
      refused('a command after -- is only for --processor exec or exec-persistent, not sha256; drop the command, or use one of them'),
    );
    expect(await waymark('start', 'items.jsonl', '--processor', 'exec-persistent', '--option', 'command=["wc"]', '--', 'wc', '-c')).toEqual(
      refused('the command is given twice, after -- and as --option command=...; keep one'),
    );
  });

  it('names the address and `npx waymark dev` when no server is reachable', async () => {
    const run = await waymark('start', 'items.jsonl', '--processor', 'sha256');
    expect(run).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^[^\n]*\n$/) });
    expect(run.stderr).toMatch(
      /^waymark: no Temporal server reachable at 127\.0\.0\.1:1 \(.+\); start one with `npx waymark dev` or set TEMPORAL_ADDRESS to a running server\n$/,
    );
  });
});
