import Database from 'better-sqlite3';
import { LedgerUnavailableError } from '../ledger-unavailable-error';

/**
 * The schema, one migration per version, as in the PostgreSQL ledger: version N is the Nth entry,
 * applied in one transaction together with its row in ledger_schema_version. Never edit a released
 * migration: add the next one.
 */
const MIGRATIONS: readonly string[] = [
  // The schema of release 0.1, which ran these statements at every start and recorded no version.
  `CREATE TABLE IF NOT EXISTS items (
     batch_id      TEXT    NOT NULL,
     idx           INTEGER NOT NULL,
     status        TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
     result        TEXT,
     error_type    TEXT,
     error_message TEXT,
     attempts      INTEGER NOT NULL,
     started_at    INTEGER NOT NULL,
     finished_at   INTEGER NOT NULL,
     PRIMARY KEY (batch_id, idx)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS slice_progress (
     batch_id    TEXT    NOT NULL,
     slice_start INTEGER NOT NULL,
     in_flight   INTEGER,
     cut_short   INTEGER NOT NULL DEFAULT 0,
     owner       TEXT,
     PRIMARY KEY (batch_id, slice_start)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS interruptions (
     batch_id TEXT    NOT NULL,
     idx      INTEGER NOT NULL,
     count    INTEGER NOT NULL DEFAULT 0,
     redos    INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (batch_id, idx)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS suspect_lease (
     batch_id   TEXT    PRIMARY KEY,
     owner      TEXT    NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS batches (
     batch_id TEXT PRIMARY KEY,
     spec     TEXT NOT NULL,
     manifest TEXT
   );`,
  // A batch's identity (INVARIANTS.md I11): which workflow chain first claimed the id, and when.
  `ALTER TABLE batches ADD COLUMN identity TEXT;
   ALTER TABLE batches ADD COLUMN claimed_at INTEGER;`,
  // A split of a running slice asked by lanes with nothing to run: into how many slices (INVARIANTS.md I14).
  `ALTER TABLE slice_progress ADD COLUMN split_pieces INTEGER;`,
  // Usage: what each item used, by unit, as
  // JSON text ({"tokens": 12}); null when its processor reported nothing. batch_usage keeps each
  // batch's running total per unit, added to in the commit that inserts the item, so a budget
  // check reads one row instead of summing every item of the batch.
  `ALTER TABLE items ADD COLUMN usage TEXT;
   CREATE TABLE batch_usage (
     batch_id TEXT NOT NULL,
     unit     TEXT NOT NULL,
     total    REAL NOT NULL,
     PRIMARY KEY (batch_id, unit)
   ) WITHOUT ROWID;`,
  // Named rate limits (INVARIANTS.md I13): one token bucket per key, shared by every batch and
  // worker (src/ledger/rate-limit-bucket.ts).
  `CREATE TABLE rate_limits (
     key         TEXT    PRIMARY KEY,
     lim         INTEGER NOT NULL,
     period_ms   INTEGER NOT NULL,
     burst       INTEGER NOT NULL,
     level       REAL    NOT NULL,
     updated_at  INTEGER NOT NULL,
     held_until  INTEGER,
     declared_by TEXT    NOT NULL,
     declared_at INTEGER NOT NULL
   );`,
  // Lanes in slices (INVARIANTS.md I15): an attempt's in-flight items are the range [in_flight,
  // started_to) less what is committed; the lanes the workflow gave a running slice; and the
  // batch's control (pause, stop) and quota hold, which running slices read instead of waiting
  // for a heartbeat's response.
  `ALTER TABLE slice_progress ADD COLUMN started_to INTEGER;
   ALTER TABLE slice_progress ADD COLUMN lanes INTEGER;
   ALTER TABLE slice_progress ADD COLUMN lanes_generation INTEGER;
   CREATE TABLE batch_control (
     batch_id   TEXT    PRIMARY KEY,
     state      TEXT    NOT NULL DEFAULT 'run' CHECK (state IN ('run', 'pause', 'stop')),
     generation INTEGER NOT NULL DEFAULT 0,
     held_until INTEGER,
     held_generation INTEGER
   ) WITHOUT ROWID;`,
  // Adaptive concurrency: lane pools, the lanes the running slices of a batch (or of every batch
  // naming a rate-limit key) may run between them, their holders (the running slices) and each
  // batch's lanes over time (src/ledger/lane-pools.ts).
  `CREATE TABLE lane_pools (
     scope      TEXT    PRIMARY KEY,
     lanes      INTEGER NOT NULL,
     version    INTEGER NOT NULL,
     ceiling    INTEGER,
     clean      INTEGER NOT NULL,
     changed_at INTEGER NOT NULL,
     cuts       INTEGER NOT NULL,
     cut_at     INTEGER,
     cut_from   INTEGER,
     cut_to     INTEGER,
     cut_cause  TEXT
   );
   CREATE TABLE lane_holders (
     scope       TEXT    NOT NULL,
     holder      TEXT    NOT NULL,
     batch_id    TEXT    NOT NULL,
     slice_start INTEGER NOT NULL,
     want        INTEGER NOT NULL,
     min_lanes   INTEGER NOT NULL,
     max_lanes   INTEGER NOT NULL,
     seen_at     INTEGER NOT NULL,
     PRIMARY KEY (scope, holder)
   ) WITHOUT ROWID;
   CREATE TABLE lane_samples (
     batch_id   TEXT    NOT NULL,
     at         INTEGER NOT NULL,
     lanes      INTEGER NOT NULL,
     pool_lanes INTEGER NOT NULL,
     cut_cause  TEXT,
     PRIMARY KEY (batch_id, at)
   ) WITHOUT ROWID;`,
  // Provider jobs (INVARIANTS.md I17): each job sent to a provider's batch API, recorded before it
  // is submitted (src/ledger/provider-jobs.ts). items: the job's item indexes as JSON runs
  // [[from, to], ...]; first_idx and end_idx bound them, so a slice finds the jobs of its items.
  `CREATE TABLE provider_jobs (
     batch_id         TEXT    NOT NULL,
     job_key          TEXT    NOT NULL,
     provider         TEXT    NOT NULL,
     first_idx        INTEGER NOT NULL,
     end_idx          INTEGER NOT NULL,
     items            TEXT    NOT NULL,
     state            TEXT    NOT NULL CHECK (state IN ('intent', 'uploaded', 'creating', 'submitted', 'collected', 'abandoned')),
     owner            TEXT,
     file_id          TEXT,
     job_id           TEXT,
     status           TEXT,
     charged          INTEGER NOT NULL DEFAULT 1,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     odd_polls        INTEGER NOT NULL DEFAULT 0,
     intent_at        INTEGER NOT NULL,
     creating_at      INTEGER,
     submitted_at     INTEGER,
     ended_at         INTEGER,
     PRIMARY KEY (batch_id, job_key)
   ) WITHOUT ROWID;
   CREATE INDEX provider_jobs_by_first ON provider_jobs (batch_id, first_idx);
   CREATE UNIQUE INDEX provider_jobs_by_job_id ON provider_jobs (provider, job_id) WHERE job_id IS NOT NULL;`,
  // Adaptive concurrency: the wait before lanes one under their ceiling try it again, which
  // doubles with each probe that fails (src/ledger/lane-pool-state.ts).
  `ALTER TABLE lane_pools ADD COLUMN probe_after_ms INTEGER NOT NULL DEFAULT 15000;`,
];

/** The version a ledger has once every migration above is applied. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file's schema to the last migration. BEGIN IMMEDIATE: worker processes that open the
 * file together take turns (busy_timeout), and each finds the version the one before left.
 */
export function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS ledger_schema_version (version INTEGER NOT NULL)');
    const found =
      (db.prepare('SELECT max(version) AS version FROM ledger_schema_version').get() as { version: number | null }).version ?? 0;
    if (found > MIGRATIONS.length) {
      throw new LedgerUnavailableError(
        `the ledger ${file} has schema version ${found}, newer than this waymark knows (${MIGRATIONS.length}); upgrade waymark`,
      );
    }
    for (let version = found + 1; version <= MIGRATIONS.length; version++) {
      if (version === 1) applyFirstMigration(db);
      else db.exec(MIGRATIONS[version - 1]);
      db.prepare('INSERT INTO ledger_schema_version (version) VALUES (?)').run(version);
    }
  }).immediate();
}

/**
 * Migration 1 on a file without a version: a new file, or one written by release 0.1 or earlier.
 * Earlier waymarks created tables that lack what came later (slice_progress.owner and .cut_short,
 * interruptions.redos and the default of its count; no suspect_lease), and release 0.1 added the
 * missing columns at the end of the table. Each table that differs from migration 1's in any way
 * is set aside, created anew by the migration and refilled with every row it had; a column it
 * lacked takes its default (no owner, not cut short, no redos), as release 0.1 gave it. A table
 * that already matches, such as `items` in every release, is left as it is and not copied.
 */
function applyFirstMigration(db: Database.Database): void {
  const wanted = firstMigrationTables();
  const setAside: string[] = [];
  for (const [table, columns] of wanted) {
    const existing = columnsOf(db, table);
    if (existing.length === 0 || JSON.stringify(existing) === JSON.stringify(columns)) continue;
    db.exec(`ALTER TABLE ${table} RENAME TO ${table}_unversioned`);
    setAside.push(table);
  }
  db.exec(MIGRATIONS[0]);
  for (const table of setAside) {
    const names = new Set(wanted.get(table)!.map((c) => c.name));
    const kept = columnsOf(db, `${table}_unversioned`)
      .map((c) => c.name)
      .filter((name) => names.has(name))
      .join(', ');
    db.exec(`INSERT INTO ${table} (${kept}) SELECT ${kept} FROM ${table}_unversioned; DROP TABLE ${table}_unversioned`);
  }
}

interface Column {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

function columnsOf(db: Database.Database, table: string): Column[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as Column[]).map(({ name, type, notnull, dflt_value, pk }) => ({
    name,
    type,
    notnull,
    dflt_value,
    pk,
  }));
}

/** The tables migration 1 creates, and their columns, read from a database it ran on. */
function firstMigrationTables(): Map<string, Column[]> {
  const scratch = new Database(':memory:');
  try {
    scratch.exec(MIGRATIONS[0]);
    const tables = scratch.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return new Map(tables.map(({ name }) => [name, columnsOf(scratch, name)]));
  } finally {
    scratch.close();
  }
}
