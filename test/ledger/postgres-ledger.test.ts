import type { Client } from 'pg';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { LedgerUnavailableError } from '../../src/ledger/ledger-unavailable-error';
import { LeaseLostError } from '../../src/ledger/ledger';
import { LATEST_SCHEMA_VERSION } from '../../src/ledger/postgres/migrations';
import { ledgerContract, ok } from './ledger-contract';
import { rateLimitContract } from './rate-limit-contract';
import { lanePoolContract } from './lane-pool-contract';
import { providerJobsContract } from './provider-jobs-contract';
import { allOutcomes } from '../helpers/ledger-rows';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from './postgres-test-db';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgresLedger without a server', () => {
  it('names the server it cannot reach, hides its password and says what to do', async () => {
    const failure = PostgresLedger.connect('postgres://waymark:s3cret@127.0.0.1:1/waymark');
    await expect(failure).rejects.toThrow(LedgerUnavailableError);
    const message = await failure.catch((err: Error) => err.message);
    expect(message).toContain('cannot reach the PostgreSQL ledger at postgres://waymark:***@127.0.0.1:1/waymark');
    expect(message).toContain('scripts/postgres.sh start');
    expect(message).not.toContain('s3cret');
  });

  it('hides a password given in the query (password=, sslpassword=) as well', async () => {
    const message = await PostgresLedger.connect(
      'postgres://waymark@127.0.0.1:1/waymark?password=s3cret&sslpassword=k3y&sslmode=disable',
    ).catch((err: Error) => err.message);
    expect(message).toContain(
      'cannot reach the PostgreSQL ledger at postgres://waymark@127.0.0.1:1/waymark?password=***&sslpassword=***&sslmode=disable',
    );
    expect(message).not.toMatch(/s3cret|k3y/);
    expect(() => new PostgresLedger('postgres://waymark@host:port/db?password=s3cret')).toThrow(
      /postgres:\/\/waymark@host:port\/db\?password=\*\*\* is not a valid URL/,
    );
  });

  it('refuses a URL that is not one before connecting, without showing its password', () => {
    expect(() => new PostgresLedger('postgres://waymark:s3cret@host:port/db')).toThrow(
      /postgres:\/\/waymark:\*\*\*@host:port\/db is not a valid URL/,
    );
    expect(() => new PostgresLedger('postgres://waymark:s3cret@host:port/db')).not.toThrow(/s3cret/);
    expect(() => new PostgresLedger('mysql://waymark:s3cret@host/db')).toThrow(/not a postgres:\/\/ or postgresql:\/\/ URL/);
  });
});

describeWithPostgres('PostgresLedger', () => {
  let db: PostgresTestDb;
  beforeAll(() => {
    db = new PostgresTestDb(TEST_PG_URL!);
  });
  afterAll(async () => {
    await db.close();
  });

  describe('the ledger contract', () => {
    ledgerContract(async () => {
      const url = await db.freshSchema();
      return { open: () => PostgresLedger.connect(url), dispose: () => db.dropSchemas() };
    });
  });

  describe('named rate limits', () => {
    rateLimitContract(async () => {
      const url = await db.freshSchema();
      return { open: () => PostgresLedger.connect(url), dispose: () => db.dropSchemas() };
    });
  });

  describe('lane pools', () => {
    lanePoolContract(async () => {
      const url = await db.freshSchema();
      return { open: () => PostgresLedger.connect(url), dispose: () => db.dropSchemas() };
    });
  });

  describe('provider jobs', () => {
    providerJobsContract(async () => {
      const url = await db.freshSchema();
      return { open: () => PostgresLedger.connect(url), dispose: () => db.dropSchemas() };
    });
  });

  describe('with other sessions on the same database', () => {
    let url: string;
    let a: PostgresLedger;
    let b: PostgresLedger;
    let other: Client;
    beforeEach(async () => {
      url = await db.freshSchema();
      // Two ledgers: two pools, as two worker processes would have.
      a = await PostgresLedger.connect(url);
      b = await PostgresLedger.connect(url);
      other = await PostgresTestDb.client(url);
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await other.end();
      await db.dropSchemas();
    });

    it('keeps one outcome per item when two connections commit the same indexes at once (I3)', async () => {
      const groups = 40;
      const size = 50;
      // Each item used one token: only the commit that inserts it may add it to the running total.
      const group = (g: number, result: string) =>
        Array.from({ length: size }, (_, i) => ({ ...ok(g * size + i, result), usage: { tokens: 1 } }));
      await Promise.all(
        Array.from({ length: groups }, (_, g) => [
          a.commit('b', 0, group(g, 'a'), null),
          // The same items in the other order, from another slice: the two inserts cross.
          b.commit('b', 1, group(g, 'b').reverse(), null),
        ]).flat(),
      );
      const rows = await allOutcomes(a, 'b');
      expect(rows.map((r) => r.index)).toEqual(Array.from({ length: groups * size }, (_, i) => i));
      expect(rows.every((r) => r.result === 'a' || r.result === 'b')).toBe(true);
      expect(await b.totals('b')).toEqual({ succeeded: groups * size, failed: 0, redone: 0 });
      expect(await a.usageOf('b', 'tokens')).toBe(groups * size);
      expect(await b.usageTotals('b')).toEqual({ tokens: groups * size });
    });

    /**
     * Holds the slice's row from a third session, queues `steps` behind it one at a time (each
     * waits on the row before the next starts), then lets go: they run in the order queued.
     */
    async function queuedBehindRowLock(steps: (() => Promise<unknown>)[]): Promise<PromiseSettledResult<unknown>[]> {
      await other.query('BEGIN');
      await other.query("SELECT * FROM slice_progress WHERE batch_id = 'b' AND slice_start = 0 FOR UPDATE");
      const running: Promise<unknown>[] = [];
      for (const step of steps) {
        running.push(step());
        await waitForLockWaiters(running.length);
      }
      await other.query('COMMIT');
      return Promise.allSettled(running);
    }

    async function waitForLockWaiters(n: number): Promise<void> {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) {
        const { rows } = await other.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (Number(rows[0].n) >= n) return;
      }
      throw new Error(`fewer than ${n} session(s) waiting on the slice's row after 10 s`);
    }

    it("fences a commit that waits behind a newer attempt's claim on another connection", async () => {
      await a.claimSlice('b', 0, 'attempt-1');
      await a.markInFlight('b', 0, 0, 'attempt-1');
      const [claim, commit] = await queuedBehindRowLock([
        () => b.claimSlice('b', 0, 'attempt-2'),
        () => a.commit('b', 0, [ok(0)], 1, 'attempt-1'),
      ]);
      // The claim went first: it learned that item 0 was in flight, and the old attempt's commit changed nothing.
      expect(claim).toEqual({ status: 'fulfilled', value: { index: 0, cause: 'crash' } });
      expect(commit.status === 'rejected' && commit.reason).toBeInstanceOf(LeaseLostError);
      expect(await b.committedIndexes('b', 0, 10)).toEqual([]);
      await b.commit('b', 0, [ok(0, 'attempt 2')], null, 'attempt-2');
      expect((await allOutcomes(a, 'b')).map((o) => o.result)).toEqual(['attempt 2']);
    });

    it('lets a claim that waits behind a commit see the item that commit left in flight', async () => {
      await a.claimSlice('b', 0, 'attempt-1');
      await a.markInFlight('b', 0, 0, 'attempt-1');
      const [commit, claim] = await queuedBehindRowLock([
        () => a.commit('b', 0, [ok(0)], 1, 'attempt-1'),
        () => b.claimSlice('b', 0, 'attempt-2'),
      ]);
      expect(commit.status).toBe('fulfilled');
      expect(claim).toEqual({ status: 'fulfilled', value: { index: 1, cause: 'crash' } });
      expect(await b.committedIndexes('b', 0, 10)).toEqual([0]);
      await expect(a.markInFlight('b', 0, 2, 'attempt-1')).rejects.toThrow(LeaseLostError);
    });

    it('gives a slice to exactly one of many attempts claiming it at once', async () => {
      const owners = Array.from({ length: 10 }, (_, i) => `attempt-${i}`);
      await Promise.all(owners.map((owner, i) => (i % 2 ? a : b).claimSlice('b', 0, owner)));
      const results = await Promise.allSettled(owners.map((owner, i) => (i % 2 ? b : a).markInFlight('b', 0, 5, owner)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LeaseLostError)).toHaveLength(owners.length - 1);
    });
  });

  describe('its schema', () => {
    it('is created once when several ledgers start at once', async () => {
      const url = await db.freshSchema();
      const ledgers = await Promise.all(Array.from({ length: 8 }, () => PostgresLedger.connect(url)));
      await ledgers[3].commit('b', 0, [ok(0)], null);
      expect(await ledgers[5].committedIndexes('b', 0, 1)).toEqual([0]);
      await Promise.all(ledgers.map((l) => l.close()));
      const client = await PostgresTestDb.client(url);
      try {
        // Each migration applied exactly once, in order.
        expect((await client.query('SELECT version FROM ledger_schema_version ORDER BY version')).rows).toEqual(
          Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
        );
      } finally {
        await client.end();
        await db.dropSchemas();
      }
    });

    it('is refused when a newer waymark has migrated it', async () => {
      const url = await db.freshSchema();
      await (await PostgresLedger.connect(url)).close();
      const client = await PostgresTestDb.client(url);
      try {
        await client.query('INSERT INTO ledger_schema_version (version) VALUES ($1)', [LATEST_SCHEMA_VERSION + 1]);
        await expect(PostgresLedger.connect(url)).rejects.toThrow(
          new RegExp(
            `has schema version ${LATEST_SCHEMA_VERSION + 1}, newer than this waymark knows \\(${LATEST_SCHEMA_VERSION}\\); upgrade waymark`,
          ),
        );
      } finally {
        await client.end();
        await db.dropSchemas();
      }
    });
  });

  it('commits an error message that holds a NUL byte', async () => {
    const url = await db.freshSchema();
    const ledger = await PostgresLedger.connect(url);
    try {
      await ledger.commit(
        'b',
        0,
        [{ index: 0, status: 'failed', errorType: 'exec', errorMessage: 'stderr: a\0b', attempts: 1, startedAt: 1, finishedAt: 2 }],
        null,
      );
      expect((await allOutcomes(ledger, 'b')).map((o) => o.errorMessage)).toEqual(['stderr: a\uFFFDb']);
    } finally {
      await ledger.close();
      await db.dropSchemas();
    }
  });

  it('says what to fix when the password or the database is wrong', async () => {
    const wrongPassword = new URL(TEST_PG_URL!);
    wrongPassword.password = 'not-the-password';
    const passwordFailure = await PostgresLedger.connect(wrongPassword.toString()).catch((err: Error) => err.message);
    expect(passwordFailure).toContain('check the user and password in WAYMARK_LEDGER_URL');
    expect(passwordFailure).not.toContain('not-the-password');

    const wrongDatabase = new URL(TEST_PG_URL!);
    wrongDatabase.pathname = '/no_such_waymark_db';
    await expect(PostgresLedger.connect(wrongDatabase.toString())).rejects.toThrow(/no_such_waymark_db.*create the database/);
  });
});
