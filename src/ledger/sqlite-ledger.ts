import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
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
import { SqliteProviderJobs } from './sqlite/provider-job-store';
import { interruptedItem } from './slice-ownership';
import { toSliceControl, type SliceControlRow } from './slice-control-row';
import { OUTCOME_TIMES_COLUMNS, toOutcome, toOutcomeTimes, type ItemRow } from './item-row';
import type { SliceTally } from '../contract/slices';
import type { Usage } from '../contract/usage';
import { migrate } from './sqlite/migrations';
import { writeAtTurnEnd } from './turn-end';
import { SqliteLanePools } from './sqlite/lane-pool-store';
import type { LaneGrant, LaneReport, LaneSample, LaneView } from './lane-pools';
import { CLAIM_BATCH, toBatchRecord, type BatchRow } from './batch-claim';
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

interface ControlStatements {
  select: Database.Statement<[string, string, number], SliceControlRow>;
  set: Database.Statement;
  hold: Database.Statement;
  lanes: Database.Statement;
}

/** The statements of slice control (slice-control.ts): a read every poll of every running slice, writes seldom. */
function controlStatements(db: Database.Database): ControlStatements {
  return {
    select: db.prepare(
      `SELECT c.state, c.generation, c.held_until, c.held_generation, s.lanes, s.lanes_generation
       FROM (SELECT ? AS batch_id) k
       LEFT JOIN batch_control c ON c.batch_id = k.batch_id
       LEFT JOIN slice_progress s ON s.batch_id = ? AND s.slice_start = ?`,
    ),
    set: db.prepare(
      `INSERT INTO batch_control (batch_id, state, generation) VALUES (?, ?, ?)
       ON CONFLICT (batch_id) DO UPDATE SET state = excluded.state, generation = excluded.generation
       WHERE excluded.generation >= batch_control.generation`,
    ),
    hold: db.prepare(
      `INSERT INTO batch_control (batch_id, held_until, held_generation) VALUES (?, ?, ?)
       ON CONFLICT (batch_id) DO UPDATE SET
         held_until = CASE WHEN excluded.held_generation > coalesce(batch_control.held_generation, -1) THEN excluded.held_until
                           WHEN excluded.held_generation = batch_control.held_generation THEN max(batch_control.held_until, excluded.held_until)
                           ELSE batch_control.held_until END,
         held_generation = max(coalesce(batch_control.held_generation, -1), excluded.held_generation)`,
    ),
    lanes: db.prepare(
      `INSERT INTO slice_progress (batch_id, slice_start, lanes, lanes_generation) VALUES (?, ?, ?, ?)
       ON CONFLICT (batch_id, slice_start) DO UPDATE SET lanes = excluded.lanes, lanes_generation = excluded.lanes_generation`,
    ),
  };
}

/** Rows per page of outcomePages: large pages, since better-sqlite3 reads a page much faster than row by row. */
const TIMES_PAGE = 50_000;

/**
 * The embedded ledger: one SQLite file in WAL mode, shared by every worker process on the machine.
 *
 * synchronous=NORMAL: a commit survives the death of any process (the WAL is written before
 * commit returns), which is what interruptions are; only a power cut can lose the last commits.
 *
 * Over 400 lines: it implements the whole Ledger interface (ledger.ts) for one database; what the
 * two ledgers share (rows, claims, buckets) lives in files of its own.
 */
export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly insertItem: Database.Statement;
  private readonly upsertInFlight: Database.Statement;
  private readonly updateOwnedInFlight: Database.Statement;
  private readonly upsertOwner: Database.Statement;
  private readonly selectInFlight: Database.Statement<
    [string, number],
    { in_flight: number | null; started_to: number | null; cut_short: number }
  >;
  private readonly control: ControlStatements;
  private readonly bumpCrash: Database.Statement<[string, number], { count: number }>;
  private readonly bumpRedo: Database.Statement<[string, number], { count: number }>;
  private readonly selectCommitted: Database.Statement<[string, number, number], { idx: number }>;
  private readonly selectCommittedWithStatus: Database.Statement<[string, number, number, string], { idx: number }>;
  private readonly countByStatus: Database.Statement<[string, number, number], { status: ItemStatus; n: number; crashed: number }>;
  private readonly countFailedByType: Database.Statement<[string, number, number], { type: string | null; n: number }>;
  private readonly sumInterruptions: Database.Statement<[string, number, number], { n: number }>;
  private readonly sumUsage: Database.Statement<[string], { unit: string; total: number }>;
  private readonly addUsage: Database.Statement;
  private readonly selectUsage: Database.Statement<[string, string], { total: number }>;
  private readonly commitTx: (batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], next: InFlight, owner?: string) => void;
  private readonly claimTx: (batchId: string, sliceStart: number, owner: string) => InterruptedItem | null;
  private readonly groupTx: (commits: QueuedCommit[]) => void;
  /** Commits waiting to be written together as the turn of the event loop ends; see commit(). */
  private queued: QueuedCommit[] = [];
  private readonly lanePools: SqliteLanePools;
  private readonly providerJobStore: SqliteProviderJobs;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Several worker processes and the CLI share the file; wait for the writer instead of failing.
    this.db.pragma('busy_timeout = 10000');
    migrate(this.db, file);
    this.providerJobStore = new SqliteProviderJobs(this.db);
    this.insertItem = this.db.prepare(
      `INSERT INTO items (batch_id, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (batch_id, idx) DO NOTHING`,
    );
    this.upsertInFlight = this.db.prepare(
      `INSERT INTO slice_progress (batch_id, slice_start, in_flight, started_to) VALUES (?, ?, ?, ?)
       ON CONFLICT (batch_id, slice_start) DO UPDATE SET in_flight = excluded.in_flight, started_to = excluded.started_to, cut_short = 0`,
    );
    this.updateOwnedInFlight = this.db.prepare(
      'UPDATE slice_progress SET in_flight = ?, started_to = ?, cut_short = ? WHERE batch_id = ? AND slice_start = ? AND owner = ?',
    );
    this.upsertOwner = this.db.prepare(
      `INSERT INTO slice_progress (batch_id, slice_start, in_flight, owner) VALUES (?, ?, NULL, ?)
       ON CONFLICT (batch_id, slice_start) DO UPDATE SET owner = excluded.owner, in_flight = NULL, started_to = NULL, cut_short = 0`,
    );
    this.selectInFlight = this.db.prepare(
      'SELECT in_flight, started_to, cut_short FROM slice_progress WHERE batch_id = ? AND slice_start = ?',
    );
    this.control = controlStatements(this.db);
    this.lanePools = new SqliteLanePools(this.db);
    this.bumpCrash = this.db.prepare(
      `INSERT INTO interruptions (batch_id, idx, count) VALUES (?, ?, 1)
       ON CONFLICT (batch_id, idx) DO UPDATE SET count = count + 1 RETURNING count`,
    );
    this.bumpRedo = this.db.prepare(
      `INSERT INTO interruptions (batch_id, idx, count, redos) VALUES (?, ?, 0, 1)
       ON CONFLICT (batch_id, idx) DO UPDATE SET redos = redos + 1 RETURNING count`,
    );
    this.selectCommitted = this.db.prepare('SELECT idx FROM items WHERE batch_id = ? AND idx >= ? AND idx < ? ORDER BY idx');
    this.selectCommittedWithStatus = this.db.prepare(
      'SELECT idx FROM items WHERE batch_id = ? AND idx >= ? AND idx < ? AND status = ? ORDER BY idx',
    );
    this.countByStatus = this.db.prepare(
      `SELECT status, count(*) AS n, sum(error_type = 'crashed-worker') AS crashed
       FROM items WHERE batch_id = ? AND idx >= ? AND idx < ? GROUP BY status`,
    );
    this.countFailedByType = this.db.prepare(
      `SELECT error_type AS type, count(*) AS n FROM items
       WHERE batch_id = ? AND idx >= ? AND idx < ? AND status = 'failed' GROUP BY error_type`,
    );
    this.sumInterruptions = this.db.prepare(
      'SELECT coalesce(sum(count + redos), 0) AS n FROM interruptions WHERE batch_id = ? AND idx >= ? AND idx < ?',
    );
    this.sumUsage = this.db.prepare(
      `SELECT u.key AS unit, sum(u.value) AS total FROM items, json_each(items.usage) AS u
       WHERE items.batch_id = ? AND items.usage IS NOT NULL GROUP BY u.key ORDER BY u.key`,
    );
    this.addUsage = this.db.prepare(
      `INSERT INTO batch_usage (batch_id, unit, total) VALUES (?, ?, ?)
       ON CONFLICT (batch_id, unit) DO UPDATE SET total = total + excluded.total`,
    );
    this.selectUsage = this.db.prepare('SELECT total FROM batch_usage WHERE batch_id = ? AND unit = ?');
    this.commitTx = this.db.transaction(
      (batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], next: InFlight, owner?: string) => {
        for (const o of outcomes) {
          const inserted = this.insertItem.run(
            batchId,
            o.index,
            o.status,
            o.resultJson ?? null,
            o.errorType ?? null,
            o.errorMessage ?? null,
            o.attempts,
            o.startedAt,
            o.finishedAt,
            o.usage === undefined ? null : JSON.stringify(o.usage),
          );
          // Only an item this commit inserted adds to the running total: a second commit of it changes nothing (I3).
          if (inserted.changes === 1) for (const [unit, amount] of Object.entries(o.usage ?? {})) this.addUsage.run(batchId, unit, amount);
        }
        this.setInFlight(batchId, sliceStart, next, owner);
      },
    );
    // Each commit is a savepoint inside the group's transaction (better-sqlite3 nests a transaction
    // function that way): one that lost its lease rolls back alone, and only its caller hears of it.
    this.groupTx = this.db.transaction((commits: QueuedCommit[]) => {
      for (const c of commits) {
        try {
          this.commitTx(c.batchId, c.sliceStart, c.outcomes, c.next, c.owner);
        } catch (err) {
          c.error = err;
        }
      }
    });
    this.claimTx = this.db.transaction((batchId: string, sliceStart: number, owner: string) => {
      const previous = this.selectInFlight.get(batchId, sliceStart);
      this.upsertOwner.run(batchId, sliceStart, owner);
      if (!previous || previous.in_flight === null) return null;
      return interruptedItem(previous.in_flight, previous.started_to, previous.cut_short !== 0);
    });
  }

  /** Throws inside the caller's transaction when the slice has another owner, which rolls the commit back. */
  private setInFlight(batchId: string, sliceStart: number, inFlight: InFlight, owner?: string, cutShort = false): void {
    const range = inFlightRange(inFlight);
    const [from, to] = range === null ? [null, null] : [range.from, range.to];
    if (owner === undefined) {
      this.upsertInFlight.run(batchId, sliceStart, from, to);
    } else if (this.updateOwnedInFlight.run(from, to, cutShort ? 1 : 0, batchId, sliceStart, owner).changes === 0) {
      throw new LeaseLostError(batchId, sliceStart);
    }
  }

  async markCutShort(batchId: string, sliceStart: number, inFlight: InFlight, owner: string): Promise<void> {
    this.setInFlight(batchId, sliceStart, inFlight, owner, true);
  }

  /**
   * Group commit: the commits of every slice that become due in one turn of the event loop share
   * one transaction, written when the turn ends (turn-end.ts; in a few parts when many slices
   * commit in one turn), so C slices in flight pay for a few WAL appends instead of C. Each
   * caller's promise settles only once its outcomes are durable, so nothing is acknowledged earlier
   * than with a transaction of its own.
   */
  commit(batchId: string, sliceStart: number, outcomes: OutcomeToCommit[], nextInFlight: InFlight, owner?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const commit = { batchId, sliceStart, outcomes, next: nextInFlight, owner, resolve, reject };
      if (this.queued.push(commit) === 1) writeAtTurnEnd(() => this.writeQueued());
    });
  }

  private writeQueued(): void {
    const commits = this.queued;
    if (commits.length === 0) return;
    this.queued = [];
    try {
      this.groupTx(commits);
    } catch (err) {
      for (const c of commits) c.reject(err);
      return;
    }
    for (const c of commits) {
      if (c.error === undefined) c.resolve();
      else c.reject(c.error);
    }
  }

  async markInFlight(batchId: string, sliceStart: number, inFlight: InFlight, owner?: string): Promise<void> {
    this.setInFlight(batchId, sliceStart, inFlight, owner);
  }

  async claimSlice(batchId: string, sliceStart: number, owner: string): Promise<InterruptedItem | null> {
    return this.claimTx(batchId, sliceStart, owner);
  }

  async interruptedIndexes(batchId: string, from: number, to: number, minCrashes = 1): Promise<number[]> {
    return (
      this.db
        .prepare('SELECT idx FROM interruptions WHERE batch_id = ? AND idx >= ? AND idx < ? AND count >= ? ORDER BY idx')
        .all(batchId, from, to, Math.max(1, minCrashes)) as {
        idx: number;
      }[]
    ).map((r) => r.idx);
  }

  async interruptedItems(batchId: string): Promise<{ index: number; interruptions: number }[]> {
    return this.db
      .prepare(
        'SELECT idx AS "index", count + redos AS interruptions FROM interruptions WHERE batch_id = ? AND count + redos > 0 ORDER BY idx',
      )
      .all(batchId) as { index: number; interruptions: number }[];
  }

  async acquireSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const taken = this.db
      .prepare(
        `INSERT INTO suspect_lease (batch_id, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (batch_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE suspect_lease.owner = excluded.owner OR suspect_lease.expires_at < ?`,
      )
      .run(batchId, owner, now + ttlMs, now);
    return taken.changes === 1;
  }

  async renewSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<void> {
    this.db.prepare('UPDATE suspect_lease SET expires_at = ? WHERE batch_id = ? AND owner = ?').run(Date.now() + ttlMs, batchId, owner);
  }

  async releaseSuspectLease(batchId: string, owner: string): Promise<void> {
    this.db.prepare('DELETE FROM suspect_lease WHERE batch_id = ? AND owner = ?').run(batchId, owner);
  }

  async inFlight(batchId: string, sliceStart: number): Promise<number | null> {
    return this.selectInFlight.get(batchId, sliceStart)?.in_flight ?? null;
  }

  async sliceControl(batchId: string, sliceStart: number): Promise<SliceControlState> {
    return toSliceControl(this.control.select.get(batchId, batchId, sliceStart));
  }

  async setBatchControl(batchId: string, control: BatchControl): Promise<void> {
    this.control.set.run(batchId, control.state, control.generation);
  }

  async holdBatch(batchId: string, until: number, generation: number): Promise<void> {
    this.control.hold.run(batchId, until, generation);
  }

  async setSliceLanes(batchId: string, sliceStart: number, lanes: number, generation: number): Promise<void> {
    this.control.lanes.run(batchId, sliceStart, lanes, generation);
  }

  async recordInterruption(batchId: string, index: number, cause: InterruptedItem['cause'] = 'crash'): Promise<number> {
    return (cause === 'crash' ? this.bumpCrash : this.bumpRedo).get(batchId, index)!.count;
  }

  async committedIndexes(batchId: string, from: number, to: number, status?: ItemStatus): Promise<number[]> {
    const rows = status ? this.selectCommittedWithStatus.all(batchId, from, to, status) : this.selectCommitted.all(batchId, from, to);
    return rows.map((r) => r.idx);
  }

  async mergeRedrive(redriveBatchId: string, intoBatchId: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO items (batch_id, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage)
         SELECT ?, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage
         FROM items WHERE batch_id = ? ORDER BY idx
         ON CONFLICT (batch_id, idx) DO UPDATE SET
           status = excluded.status, result = excluded.result, error_type = excluded.error_type,
           error_message = excluded.error_message, attempts = excluded.attempts,
           started_at = excluded.started_at, finished_at = excluded.finished_at, usage = excluded.usage
         WHERE items.status = 'failed'`,
      )
      .run(intoBatchId, redriveBatchId);
  }

  async tally(batchId: string, from: number, to: number): Promise<SliceTally> {
    const tally: SliceTally = { succeeded: 0, failed: 0, redone: 0 };
    // A dead-lettered item's last interruption was not followed by a redo.
    let deadLettered = 0;
    for (const row of this.countByStatus.all(batchId, from, to)) {
      tally[row.status] = row.n;
      deadLettered += row.crashed;
    }
    tally.redone = this.sumInterruptions.get(batchId, from, to)!.n - deadLettered;
    if (tally.failed > 0) {
      tally.failedByType = {};
      for (const row of this.countFailedByType.all(batchId, from, to)) tally.failedByType[row.type ?? 'unknown'] = row.n;
    }
    return tally;
  }

  async totals(batchId: string): Promise<SliceTally> {
    return this.tally(batchId, 0, Number.MAX_SAFE_INTEGER);
  }

  async usageTotals(batchId: string): Promise<Usage> {
    const rows = this.sumUsage.all(batchId);
    return Object.fromEntries(rows.map((r) => [r.unit, r.total]));
  }

  async usageOf(batchId: string, unit: string): Promise<number> {
    return this.selectUsage.get(batchId, unit)?.total ?? 0;
  }

  async *outcomes(batchId: string, status?: ItemStatus): AsyncIterable<StoredOutcome> {
    const rows = status
      ? this.db.prepare('SELECT * FROM items WHERE batch_id = ? AND status = ? ORDER BY idx').iterate(batchId, status)
      : this.db.prepare('SELECT * FROM items WHERE batch_id = ? ORDER BY idx').iterate(batchId);
    for (const row of rows as IterableIterator<ItemRow>) yield toOutcome(row);
  }

  async *outcomePages(batchId: string): AsyncIterable<OutcomeTimes[]> {
    const page = this.db
      .prepare(`SELECT ${OUTCOME_TIMES_COLUMNS} FROM items WHERE batch_id = ? AND idx > ? ORDER BY idx LIMIT ${TIMES_PAGE}`)
      .raw();
    for (let after = -1; ;) {
      const rows = page.all(batchId, after) as unknown[][];
      yield rows.map(toOutcomeTimes);
      if (rows.length < TIMES_PAGE) return;
      after = rows[rows.length - 1][0] as number;
    }
  }

  async saveBatch(record: BatchRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO batches (batch_id, spec, manifest) VALUES (?, ?, ?)
         ON CONFLICT (batch_id) DO UPDATE SET spec = excluded.spec, manifest = coalesce(excluded.manifest, batches.manifest)`,
      )
      .run(record.batchId, JSON.stringify(record.spec), record.manifest === undefined ? null : JSON.stringify(record.manifest));
  }

  async batch(batchId: string): Promise<BatchRecord | undefined> {
    const row = this.db.prepare('SELECT spec, manifest, identity, claimed_at FROM batches WHERE batch_id = ?').get(batchId) as
      BatchRow | undefined;
    return row && toBatchRecord(batchId, row);
  }

  async claimBatch(batchId: string, identity: string, spec: unknown): Promise<BatchClaim> {
    const claimed = this.db.prepare(CLAIM_BATCH.replace(/\$\d/g, '?')).get(batchId, JSON.stringify(spec), identity, Date.now());
    if (claimed) return { claimed: true };
    return { claimed: false, earlier: (await this.batch(batchId))! };
  }

  async takeTokens(key: string, wanted: number, rate: RateLimitRate, batchId: string, now = Date.now()): Promise<TokenTake> {
    let take: TokenTake | undefined;
    this.updateBucket(key, rate, batchId, now, (row) => {
      const taken = takeFrom(row, wanted, now);
      take = taken.take;
      return taken.row;
    });
    return take!;
  }

  async holdRateLimit(key: string, forMs: number, rate: RateLimitRate, batchId: string, now = Date.now()): Promise<number> {
    return this.updateBucket(key, rate, batchId, now, (row) => holdOn(row, forMs, now)).heldUntil!;
  }

  async chargeUsage(key: string, amount: number, rate: RateLimitRate, batchId: string, now = Date.now()): Promise<void> {
    this.updateBucket(key, rate, batchId, now, (row) => chargeTo(row, amount, now));
  }

  async rateLimits(now = Date.now()): Promise<RateLimitState[]> {
    return (this.db.prepare(SELECT_BUCKETS).all() as RateLimitDbRow[]).map((row) => stateAt(toBucketRow(row), now));
  }

  /**
   * Reads a key's bucket (created with `rate` if new), reconciles the declared rate, applies
   * `change` and writes it back, in one IMMEDIATE transaction: worker processes on the file take
   * turns, each reading what the one before wrote.
   */
  private updateBucket(key: string, rate: RateLimitRate, batchId: string, now: number, change: (row: BucketRow) => BucketRow): BucketRow {
    const sql = (statement: string) => this.db.prepare(statement.replace(/\$\d+/g, '?'));
    return this.db
      .transaction(() => {
        sql(INSERT_BUCKET).run(...insertParams(newBucket(key, rate, batchId, now)));
        const stored = toBucketRow(sql(SELECT_BUCKET).get(key) as RateLimitDbRow);
        const changed = change(reconcileRate(stored, rate, batchId, now));
        sql(UPDATE_BUCKET).run(...updateParams(changed));
        return changed;
      })
      .immediate();
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

  // Provider jobs (INVARIANTS.md I17): kept in a file of their own, sqlite/provider-job-store.ts.
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
    this.writeQueued();
    this.db.close();
  }
}

interface QueuedCommit {
  batchId: string;
  sliceStart: number;
  outcomes: OutcomeToCommit[];
  next: InFlight;
  owner?: string;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Set when this commit's savepoint rolled back (its slice has another owner). */
  error?: unknown;
}
