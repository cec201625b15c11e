import { Pool, TypeOverrides, types, type PoolClient } from 'pg';
import {
  LeaseLostError,
  type BatchClaim,
  type BatchRecord,
  type InterruptedItem,
  type ItemStatus,
  type OutcomeTimes,
  type OutcomeToCommit,
  type Ledger,
  type StoredOutcome,
  type RateLimitRate,
  type RateLimitState,
  type TokenTake,
  type BatchControl,
  type InFlight,
  type SliceControlState,
  type ProviderJob,
  type ProviderJobChange,
  type NewProviderJob,
  inFlightRange,
} from './ledger';
import { PostgresProviderJobs } from './postgres/provider-job-store';
import { interruptedItem } from './slice-ownership';
import { toSliceControl, type SliceControlRow } from './slice-control-row';
import { OUTCOME_TIMES_COLUMNS, toOutcome, toOutcomeTimes, type ItemRow } from './item-row';
import type { SliceTally } from '../contract/slices';
import type { Usage } from '../contract/usage';
import { LedgerUnavailableError } from './ledger-unavailable-error';
import { NOT_A_URL, postgresUrlProblem } from '../postgres/url';
import { maskUrl } from '../mask-secrets';
import { migrate } from './postgres/migrations';
import { PostgresLanePools } from './postgres/lane-pool-store';
import type { LaneGrant, LaneReport, LaneSample, LaneView } from './lane-pools';
import { CLAIM_BATCH, toBatchRecord, type BatchRow } from './batch-claim';
import { COMMIT_OWNED, COMMIT_UNOWNED, NOW_MS, commitParams } from './postgres/statements';
import { errorText, unreachableMessage } from './postgres/server-errors';
import { chargeTo, holdOn, newBucket, reconcileRate, stateAt, takeFrom, type BucketRow } from './rate-limit-bucket';
import {
  INSERT_BUCKET,
  SELECT_BUCKET,
  SELECT_BUCKETS,
  UPDATE_BUCKET,
  insertParams,
  toBucketRow,
  updateParams,
  type RateLimitDbRow,
} from './rate-limit-rows';

/** Rows per page of `outcomes()`: an export of millions of items holds one page at a time. */
const OUTCOME_PAGE = 5000;

/**
 * The ledger on a PostgreSQL server, for many workers on many machines: `WAYMARK_LEDGER_URL=postgres://...`.
 *
 * Each commit is one statement (one transaction, one round trip) and returns once the server has
 * made it durable: with the server's default synchronous_commit=on it survives even a crash of the
 * server, where the SQLite ledger's synchronous=NORMAL survives the death of any process. Tables live
 * in the URL's database and the connection's search_path: `?options=-c%20search_path%3Dname`
 * puts several ledgers in one database.
 *
 * The constructor only checks the URL; the first call connects and creates or migrates the
 * schema. `PostgresLedger.connect` does both at once, for callers that want to fail early.
 *
 * Over 400 lines: it implements the whole Ledger interface (ledger.ts) for one database; what the
 * two ledgers share (rows, claims, buckets, statements) lives in files of its own.
 */
export class PostgresLedger implements Ledger {
  private readonly pool: Pool;
  private schemaReady: Promise<void> | undefined;
  private readonly lanePools = new PostgresLanePools({
    transaction: (work) => this.transaction(work),
    query: (sql, params) => this.query(sql, params),
  });
  private readonly providerJobStore: PostgresProviderJobs;

  /** The URL holds the password: never show it unmasked. */
  constructor(private readonly url: string) {
    const problem = postgresUrlProblem(url);
    if (problem) {
      const howToWrite = problem === NOT_A_URL ? '; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE' : '';
      throw new LedgerUnavailableError(`the ledger URL ${maskUrl(url)} ${problem}${howToWrite}`);
    }
    // BIGINT arrives as a string by default; waymark's times and indexes are far below 2^53.
    const int8AsNumber = new TypeOverrides();
    int8AsNumber.setTypeParser(types.builtins.INT8, Number);
    this.pool = new Pool({ connectionString: url, types: int8AsNumber, connectionTimeoutMillis: 10_000 });
    // An idle connection that the server closed (a restart, an idle timeout) is dropped by the
    // pool, and the next query opens a new one; without a listener the event would kill the process.
    this.pool.on('error', () => {});
    this.providerJobStore = new PostgresProviderJobs(
      this.pool,
      () => this.ready(),
      (work) => this.transaction(work),
    );
  }

  /** A ledger whose server answered and whose schema is in place. */
  static async connect(url: string): Promise<PostgresLedger> {
    const ledger = new PostgresLedger(url);
    try {
      await ledger.ready();
    } catch (err) {
      await ledger.close();
      throw err;
    }
    return ledger;
  }

  /** Connects and migrates once; a failure is not remembered, so a later call tries again. */
  ready(): Promise<void> {
    this.schemaReady ??= this.migrate().catch((err: unknown) => {
      this.schemaReady = undefined;
      throw err;
    });
    return this.schemaReady;
  }

  private async migrate(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new LedgerUnavailableError(unreachableMessage(this.url, err));
    }
    let schema: { found: number; known: number };
    try {
      schema = await migrate(client);
    } catch (err) {
      throw new LedgerUnavailableError(`the PostgreSQL ledger at ${maskUrl(this.url)} could not create its tables: ${errorText(err)}`);
    } finally {
      client.release();
    }
    if (schema.found > schema.known) {
      throw new LedgerUnavailableError(
        `the PostgreSQL ledger at ${maskUrl(this.url)} has schema version ${schema.found}, newer than this waymark knows (${schema.known}); upgrade waymark`,
      );
    }
  }

  /** Runs `work` in one transaction on one connection; any error rolls it back. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is dropped rather than handed to the next caller.
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    await this.ready();
    return (await this.pool.query<R>(sql, params)).rows;
  }

  async commit(batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], inFlight: InFlight, owner?: string): Promise<void> {
    const params = commitParams(batchId, sliceStart, inFlight, outcomes, owner);
    if (owner === undefined) {
      await this.query(COMMIT_UNOWNED, params);
    } else if ((await this.query<{ held: number }>(COMMIT_OWNED, params))[0].held === 0) {
      throw new LeaseLostError(batchId, sliceStart);
    }
  }

  async markInFlight(batchId: string, sliceStart: number, inFlight: InFlight, owner?: string): Promise<void> {
    await this.ready();
    const range = inFlightRange(inFlight);
    if (owner === undefined) {
      await this.pool.query(
        `INSERT INTO slice_progress (batch_id, slice_start, in_flight, started_to) VALUES ($1, $2, $3, $4)
         ON CONFLICT (batch_id, slice_start) DO UPDATE SET in_flight = excluded.in_flight, started_to = excluded.started_to, cut_short = false`,
        [batchId, sliceStart, range?.from ?? null, range?.to ?? null],
      );
    } else {
      await this.setOwnedInFlight(batchId, sliceStart, inFlight, owner, false);
    }
  }

  async markCutShort(batchId: string, sliceStart: number, inFlight: InFlight, owner: string): Promise<void> {
    await this.ready();
    await this.setOwnedInFlight(batchId, sliceStart, inFlight, owner, true);
  }

  private async setOwnedInFlight(batchId: string, sliceStart: number, inFlight: InFlight, owner: string, cutShort: boolean): Promise<void> {
    const range = inFlightRange(inFlight);
    const fenced = await this.pool.query(
      `UPDATE slice_progress SET in_flight = $3, started_to = $6, cut_short = $5
       WHERE batch_id = $1 AND slice_start = $2 AND owner = $4`,
      [batchId, sliceStart, range?.from ?? null, owner, cutShort, range?.to ?? null],
    );
    if (fenced.rowCount === 0) throw new LeaseLostError(batchId, sliceStart);
  }

  async claimSlice(batchId: string, sliceStart: number, owner: string): Promise<InterruptedItem | null> {
    return this.transaction(async (client) => {
      // Make sure the row exists, then lock it: two claims of a new slice queue up like any others.
      await client.query('INSERT INTO slice_progress (batch_id, slice_start) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        batchId,
        sliceStart,
      ]);
      const { rows } = await client.query<{ in_flight: number | null; started_to: number | null; cut_short: boolean }>(
        'SELECT in_flight, started_to, cut_short FROM slice_progress WHERE batch_id = $1 AND slice_start = $2 FOR UPDATE',
        [batchId, sliceStart],
      );
      await client.query(
        `UPDATE slice_progress SET owner = $3, in_flight = NULL, started_to = NULL, cut_short = false
         WHERE batch_id = $1 AND slice_start = $2`,
        [batchId, sliceStart, owner],
      );
      const previous = rows[0];
      if (previous.in_flight === null) return null;
      return interruptedItem(previous.in_flight, previous.started_to, previous.cut_short);
    });
  }

  async interruptedIndexes(batchId: string, from: number, to: number, minCrashes = 1): Promise<number[]> {
    const rows = await this.query<{ idx: number }>(
      'SELECT idx FROM interruptions WHERE batch_id = $1 AND idx >= $2 AND idx < $3 AND count >= $4 ORDER BY idx',
      [batchId, from, to, Math.max(1, minCrashes)],
    );
    return rows.map((r) => r.idx);
  }

  async interruptedItems(batchId: string): Promise<{ index: number; interruptions: number }[]> {
    return this.query<{ index: number; interruptions: number }>(
      'SELECT idx AS "index", count + redos AS interruptions FROM interruptions WHERE batch_id = $1 AND count + redos > 0 ORDER BY idx',
      [batchId],
    );
  }

  async acquireSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.ready();
    const taken = await this.pool.query(
      `INSERT INTO suspect_lease (batch_id, owner, expires_at) VALUES ($1, $2, ${NOW_MS} + $3)
       ON CONFLICT (batch_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE suspect_lease.owner = excluded.owner OR suspect_lease.expires_at < ${NOW_MS}`,
      [batchId, owner, ttlMs],
    );
    return taken.rowCount === 1;
  }

  async renewSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<void> {
    await this.query(`UPDATE suspect_lease SET expires_at = ${NOW_MS} + $3 WHERE batch_id = $1 AND owner = $2`, [batchId, owner, ttlMs]);
  }

  async releaseSuspectLease(batchId: string, owner: string): Promise<void> {
    await this.query('DELETE FROM suspect_lease WHERE batch_id = $1 AND owner = $2', [batchId, owner]);
  }

  async inFlight(batchId: string, sliceStart: number): Promise<number | null> {
    const rows = await this.query<{ in_flight: number | null }>(
      'SELECT in_flight FROM slice_progress WHERE batch_id = $1 AND slice_start = $2',
      [batchId, sliceStart],
    );
    return rows[0]?.in_flight ?? null;
  }

  async sliceControl(batchId: string, sliceStart: number): Promise<SliceControlState> {
    const rows = await this.query<SliceControlRow>(
      `SELECT c.state, c.generation, c.held_until, c.held_generation, s.lanes, s.lanes_generation
       FROM (SELECT $1::text AS batch_id) k
       LEFT JOIN batch_control c ON c.batch_id = k.batch_id
       LEFT JOIN slice_progress s ON s.batch_id = k.batch_id AND s.slice_start = $2`,
      [batchId, sliceStart],
    );
    return toSliceControl(rows[0]);
  }

  async setBatchControl(batchId: string, control: BatchControl): Promise<void> {
    await this.query(
      `INSERT INTO batch_control (batch_id, state, generation) VALUES ($1, $2, $3)
       ON CONFLICT (batch_id) DO UPDATE SET state = excluded.state, generation = excluded.generation
       WHERE excluded.generation >= batch_control.generation`,
      [batchId, control.state, control.generation],
    );
  }

  async holdBatch(batchId: string, until: number, generation: number): Promise<void> {
    await this.query(
      `INSERT INTO batch_control (batch_id, held_until, held_generation) VALUES ($1, $2, $3)
       ON CONFLICT (batch_id) DO UPDATE SET
         held_until = CASE WHEN excluded.held_generation > coalesce(batch_control.held_generation, -1) THEN excluded.held_until
                           WHEN excluded.held_generation = batch_control.held_generation THEN greatest(batch_control.held_until, excluded.held_until)
                           ELSE batch_control.held_until END,
         held_generation = greatest(batch_control.held_generation, excluded.held_generation)`,
      [batchId, until, generation],
    );
  }

  async setSliceLanes(batchId: string, sliceStart: number, lanes: number, generation: number): Promise<void> {
    await this.query(
      `INSERT INTO slice_progress (batch_id, slice_start, lanes, lanes_generation) VALUES ($1, $2, $3, $4)
       ON CONFLICT (batch_id, slice_start) DO UPDATE SET lanes = excluded.lanes, lanes_generation = excluded.lanes_generation`,
      [batchId, sliceStart, lanes, generation],
    );
  }

  async recordInterruption(batchId: string, index: number, cause: InterruptedItem['cause'] = 'crash'): Promise<number> {
    const rows = await this.query<{ count: number }>(
      cause === 'crash'
        ? `INSERT INTO interruptions (batch_id, idx, count) VALUES ($1, $2, 1)
           ON CONFLICT (batch_id, idx) DO UPDATE SET count = interruptions.count + 1 RETURNING count`
        : `INSERT INTO interruptions (batch_id, idx, count, redos) VALUES ($1, $2, 0, 1)
           ON CONFLICT (batch_id, idx) DO UPDATE SET redos = interruptions.redos + 1 RETURNING count`,
      [batchId, index],
    );
    return rows[0].count;
  }

  async committedIndexes(batchId: string, from: number, to: number, status?: ItemStatus): Promise<number[]> {
    const rows = await this.query<{ idx: number }>(
      'SELECT idx FROM items WHERE batch_id = $1 AND idx >= $2 AND idx < $3 AND ($4::text IS NULL OR status = $4) ORDER BY idx',
      [batchId, from, to, status ?? null],
    );
    return rows.map((r) => r.idx);
  }

  async mergeRedrive(redriveBatchId: string, intoBatchId: string): Promise<void> {
    await this.query(
      `INSERT INTO items (batch_id, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage)
       SELECT $1, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage
       FROM items WHERE batch_id = $2 ORDER BY idx
       ON CONFLICT (batch_id, idx) DO UPDATE SET
         status = excluded.status, result = excluded.result, error_type = excluded.error_type,
         error_message = excluded.error_message, attempts = excluded.attempts,
         started_at = excluded.started_at, finished_at = excluded.finished_at, usage = excluded.usage
       WHERE items.status = 'failed'`,
      [intoBatchId, redriveBatchId],
    );
  }

  async tally(batchId: string, from: number, to: number): Promise<SliceTally> {
    const [counts, interruptions] = await Promise.all([
      this.query<{ status: ItemStatus; type: string | null; n: number }>(
        'SELECT status, error_type AS type, count(*) AS n FROM items WHERE batch_id = $1 AND idx >= $2 AND idx < $3 GROUP BY status, error_type',
        [batchId, from, to],
      ),
      this.query<{ n: number }>(
        'SELECT coalesce(sum(count + redos), 0) AS n FROM interruptions WHERE batch_id = $1 AND idx >= $2 AND idx < $3',
        [batchId, from, to],
      ),
    ]);
    const tally: SliceTally = { succeeded: 0, failed: 0, redone: 0 };
    const failedByType: Record<string, number> = {};
    // A dead-lettered item's last interruption was not followed by a redo.
    let deadLettered = 0;
    for (const row of counts) {
      tally[row.status] += row.n;
      if (row.status === 'failed') failedByType[row.type ?? 'unknown'] = (failedByType[row.type ?? 'unknown'] ?? 0) + row.n;
      if (row.type === 'crashed-worker') deadLettered += row.n;
    }
    tally.redone = interruptions[0].n - deadLettered;
    if (tally.failed > 0) tally.failedByType = failedByType;
    return tally;
  }

  async totals(batchId: string): Promise<SliceTally> {
    return this.tally(batchId, 0, Number.MAX_SAFE_INTEGER);
  }

  async usageTotals(batchId: string): Promise<Usage> {
    const rows = await this.query<{ unit: string; total: number }>(
      `SELECT u.key AS unit, sum(u.value::double precision) AS total
       FROM items CROSS JOIN LATERAL jsonb_each_text(items.usage::jsonb) AS u
       WHERE items.batch_id = $1 AND items.usage IS NOT NULL GROUP BY u.key ORDER BY u.key`,
      [batchId],
    );
    return Object.fromEntries(rows.map((r) => [r.unit, r.total]));
  }

  async usageOf(batchId: string, unit: string): Promise<number> {
    const rows = await this.query<{ total: number }>('SELECT total FROM batch_usage WHERE batch_id = $1 AND unit = $2', [batchId, unit]);
    return rows[0]?.total ?? 0;
  }

  async *outcomes(batchId: string, status?: ItemStatus): AsyncIterable<StoredOutcome> {
    // Keyset pages: each page starts after the last index of the one before, so no cursor or
    // transaction stays open while the caller works through the rows.
    let after = -1;
    for (;;) {
      const rows = await this.query<ItemRow>(
        `SELECT * FROM items WHERE batch_id = $1 AND idx > $2 AND ($3::text IS NULL OR status = $3) ORDER BY idx LIMIT ${OUTCOME_PAGE}`,
        [batchId, after, status ?? null],
      );
      for (const row of rows) yield toOutcome(row);
      if (rows.length < OUTCOME_PAGE) return;
      after = rows[rows.length - 1].idx;
    }
  }

  async *outcomePages(batchId: string): AsyncIterable<OutcomeTimes[]> {
    await this.ready();
    for (let after = -1; ;) {
      const rows = await this.pool.query<unknown[]>({
        text: `SELECT ${OUTCOME_TIMES_COLUMNS} FROM items WHERE batch_id = $1 AND idx > $2 ORDER BY idx LIMIT ${OUTCOME_PAGE}`,
        values: [batchId, after],
        rowMode: 'array',
      });
      yield rows.rows.map(toOutcomeTimes);
      if (rows.rows.length < OUTCOME_PAGE) return;
      after = rows.rows[rows.rows.length - 1][0] as number;
    }
  }

  async saveBatch(record: BatchRecord): Promise<void> {
    await this.query(
      `INSERT INTO batches (batch_id, spec, manifest) VALUES ($1, $2, $3)
       ON CONFLICT (batch_id) DO UPDATE SET spec = excluded.spec, manifest = coalesce(excluded.manifest, batches.manifest)`,
      [record.batchId, JSON.stringify(record.spec), record.manifest === undefined ? null : JSON.stringify(record.manifest)],
    );
  }

  async batch(batchId: string): Promise<BatchRecord | undefined> {
    const rows = await this.query<BatchRow>('SELECT spec, manifest, identity, claimed_at FROM batches WHERE batch_id = $1', [batchId]);
    return rows.length === 0 ? undefined : toBatchRecord(batchId, rows[0]);
  }

  async claimBatch(batchId: string, identity: string, spec: unknown): Promise<BatchClaim> {
    const claimed = await this.query(CLAIM_BATCH, [batchId, JSON.stringify(spec), identity, Date.now()]);
    if (claimed.length > 0) return { claimed: true };
    return { claimed: false, earlier: (await this.batch(batchId))! };
  }

  async takeTokens(key: string, wanted: number, rate: RateLimitRate, batchId: string, now?: number): Promise<TokenTake> {
    let take: TokenTake | undefined;
    await this.updateBucket(key, rate, batchId, now, (row, at) => {
      const taken = takeFrom(row, wanted, at);
      take = taken.take;
      return taken.row;
    });
    return take!;
  }

  async holdRateLimit(key: string, forMs: number, rate: RateLimitRate, batchId: string, now?: number): Promise<number> {
    return (await this.updateBucket(key, rate, batchId, now, (row, at) => holdOn(row, forMs, at))).heldUntil!;
  }

  async chargeUsage(key: string, amount: number, rate: RateLimitRate, batchId: string, now?: number): Promise<void> {
    await this.updateBucket(key, rate, batchId, now, (row, at) => chargeTo(row, amount, at));
  }

  async rateLimits(now?: number): Promise<RateLimitState[]> {
    const at = now ?? (await this.query<{ now: number }>(`SELECT ${NOW_MS} AS now`, []))[0].now;
    return (await this.query<RateLimitDbRow>(SELECT_BUCKETS, [])).map((row) => stateAt(toBucketRow(row), at));
  }

  /**
   * Reads a key's bucket (created with `rate` if new) under a row lock, reconciles the declared
   * rate, applies `change` and writes it back, in one transaction: takes from workers on any
   * machine queue on the row. The clock is the server's, one clock for every machine.
   */
  private async updateBucket(
    key: string,
    rate: RateLimitRate,
    batchId: string,
    now: number | undefined,
    change: (row: BucketRow, now: number) => BucketRow,
  ): Promise<BucketRow> {
    return this.transaction(async (client) => {
      const at = now ?? (await client.query<{ now: number }>(`SELECT ${NOW_MS} AS now`)).rows[0].now;
      // A new key's row: a second transaction inserting it at once waits for this one, then finds it.
      await client.query(INSERT_BUCKET, insertParams(newBucket(key, rate, batchId, at)));
      const { rows } = await client.query<RateLimitDbRow>(`${SELECT_BUCKET} FOR UPDATE`, [key]);
      const changed = change(reconcileRate(toBucketRow(rows[0]), rate, batchId, at), at);
      await client.query(UPDATE_BUCKET, updateParams(changed));
      return changed;
    });
  }

  reportLanes(scope: string, report: LaneReport, now?: number): Promise<LaneGrant> {
    return this.lanePools.reportLanes(scope, report, now);
  }

  laneView(scope: string, batchId: string): Promise<LaneView | undefined> {
    return this.lanePools.laneView(scope, batchId);
  }

  laneSamples(batchId: string): Promise<LaneSample[]> {
    return this.lanePools.laneSamples(batchId);
  }

  // Provider jobs (INVARIANTS.md I17): kept in a file of their own, postgres/provider-job-store.ts.
  providerJobs(batchId: string, from: number, to: number): Promise<ProviderJob[]> {
    return this.providerJobStore.providerJobs(batchId, from, to);
  }

  recordProviderIntent(job: NewProviderJob): Promise<boolean> {
    return this.providerJobStore.recordProviderIntent(job);
  }

  takeProviderJob(batchId: string, key: string, owner: string): Promise<void> {
    return this.providerJobStore.takeProviderJob(batchId, key, owner);
  }

  updateProviderJob(batchId: string, key: string, change: ProviderJobChange, owner?: string): Promise<void> {
    return this.providerJobStore.updateProviderJob(batchId, key, change, owner);
  }

  recordedProviderJobIds(provider: string, jobIds: string[]): Promise<string[]> {
    return this.providerJobStore.recordedProviderJobIds(provider, jobIds);
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
