/**
 * `waymark limits`: the named rate limits a ledger holds, read with no worker and no server
 * (TEMPORAL_ADDRESS points where nothing listens).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

describe('waymark limits', () => {
  let dir: string;
  const waymark = (dataDir: string, ...args: string[]): Promise<CliRun> =>
    runCli(['limits', ...args], { cwd: dir, env: { TEMPORAL_ADDRESS: '127.0.0.1:1', WAYMARK_DATA_DIR: dataDir } });

  beforeAll(() => {
    dir = makeRealTempDir('waymark-cli-limits-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists each key with its rate, the tokens left now and a hold, from the ledger alone', async () => {
    const dataDir = path.join(dir, 'data');
    const ledger = new SqliteLedger(path.join(dataDir, 'ledger.sqlite'));
    // openai: a full bucket (4 whole tokens: 5, less the slack blocks may use), one token taken.
    // search: held by a 429 for an hour.
    const openai = { limit: 100, periodMs: 86_400_000, burst: 4 };
    await ledger.takeTokens('openai', 1, openai, 'enrich-1');
    const heldUntil = await ledger.holdRateLimit('search', 3_600_000, { limit: 10, periodMs: 1000, burst: 0 }, 'lookup-7');
    await ledger.close();

    const run = await waymark(dataDir);

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'key     rate       burst  tokens  held until                declared by',
      // 3 left; the next whole token is due a second after the take (the slack refills first).
      expect.stringMatching(new RegExp(`^openai  100/day    4      [34]       -${' '.repeat(25)}enrich-1$`)),
      `search  10/second  0      0       ${new Date(heldUntil).toISOString()}  lookup-7`,
      '',
    ]);
    const json = await waymark(dataDir, '--json');
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      { key: 'openai', rate: openai, tokens: expect.any(Number), declaredBy: 'enrich-1', declaredAt: expect.any(Number) },
      {
        key: 'search',
        rate: { limit: 10, periodMs: 1000, burst: 0 },
        tokens: 0,
        heldUntil,
        declaredBy: 'lookup-7',
        declaredAt: expect.any(Number),
      },
    ]);
  });

  it("says how to point it at the workers' ledger when the data dir has none, and creates nothing", async () => {
    const empty = path.join(dir, 'nowhere');
    expect(await waymark(empty)).toEqual({
      code: 1,
      stdout: '',
      stderr: `waymark: no ledger ${path.join(empty, 'ledger.sqlite')}: no worker has run with this data dir; set WAYMARK_DATA_DIR to the worker's data dir (or WAYMARK_LEDGER_URL to its PostgreSQL ledger)\n`,
    });
    expect(fs.existsSync(empty)).toBe(false);
  });
});

describeWithPostgres('waymark limits on a PostgreSQL ledger', () => {
  let db: PostgresTestDb;
  let dir: string;
  beforeAll(() => {
    db = new PostgresTestDb(TEST_PG_URL!);
    dir = makeRealTempDir('waymark-cli-limits-pg-');
  });
  afterAll(async () => {
    await db.dropSchemas();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the keys from WAYMARK_LEDGER_URL, with no data dir', async () => {
    const url = await db.freshSchema();
    const ledger = await PostgresLedger.connect(url);
    const heldUntil = await ledger.holdRateLimit('openai', 600_000, { limit: 500, periodMs: 60_000, burst: 0 }, 'enrich-2');
    await ledger.close();

    const run = await runCli(['limits'], {
      cwd: dir,
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1', WAYMARK_DATA_DIR: path.join(dir, 'none'), WAYMARK_LEDGER_URL: url },
    });

    expect(run).toEqual({
      code: 0,
      stdout:
        'key     rate        burst  tokens  held until                declared by\n' +
        `openai  500/minute  0      0       ${new Date(heldUntil).toISOString()}  enrich-2\n`,
      stderr: '',
    });
  });
});
