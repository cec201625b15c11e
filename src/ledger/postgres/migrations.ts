import type { PoolClient } from 'pg';

/**
 * The schema, one migration per version; a ledger applies the ones its database lacks when it
 * starts. Never edit a released migration: add the next one. Same tables and meaning as the
 * SQLite ledger's; times (epoch ms) and item indexes are BIGINT.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE items (
     batch_id      TEXT    NOT NULL,
     idx           BIGINT  NOT NULL,
     status        TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
     result        TEXT,
     error_type    TEXT,
     error_message TEXT,
     attempts      INTEGER NOT NULL,
     started_at    BIGINT  NOT NULL,
     finished_at   BIGINT  NOT NULL,
     PRIMARY KEY (batch_id, idx)
   );
   CREATE TABLE slice_progress (
     batch_id    TEXT   NOT NULL,
     slice_start BIGINT NOT NULL,
     in_flight   BIGINT,
     owner       TEXT,
     PRIMARY KEY (batch_id, slice_start)
   );
   CREATE TABLE interruptions (
     batch_id TEXT    NOT NULL,
     idx      BIGINT  NOT NULL,
     count    INTEGER NOT NULL,
     PRIMARY KEY (batch_id, idx)
   );
   CREATE TABLE suspect_lease (
     batch_id   TEXT   PRIMARY KEY,
     owner      TEXT   NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE TABLE batches (
     batch_id TEXT PRIMARY KEY,
     spec     TEXT NOT NULL,
     manifest TEXT
   );`,
  // Cut-short items (a cancellation stopped them midway) are redone but are not crashes.
  `ALTER TABLE slice_progress ADD COLUMN cut_short BOOLEAN NOT NULL DEFAULT false;
   ALTER TABLE interruptions ALTER COLUMN count SET DEFAULT 0;
   ALTER TABLE interruptions ADD COLUMN redos INTEGER NOT NULL DEFAULT 0;`,
  // A batch's identity (INVARIANTS.md I11): which workflow chain first claimed the id, and when.
  `ALTER TABLE batches ADD COLUMN identity TEXT;
   ALTER TABLE batches ADD COLUMN claimed_at BIGINT;`,
  // A split of a running slice asked by lanes with nothing to run: into how many slices (INVARIANTS.md I14).
  `ALTER TABLE slice_progress ADD COLUMN split_pieces INTEGER;`,
  // Usage: what each item used, by unit, as
  // JSON text ({"tokens": 12}); null when its processor reported nothing. batch_usage keeps each
  // batch's running total per unit, added to in the commit that inserts the item, so a budget
  // check reads one row instead of summing every item of the batch.
  `ALTER TABLE items ADD COLUMN usage TEXT;
   CREATE TABLE batch_usage (
     batch_id TEXT             NOT NULL,
     unit     TEXT             NOT NULL,
     total    DOUBLE PRECISION NOT NULL,
     PRIMARY KEY (batch_id, unit)
   );`,
  // Named rate limits (INVARIANTS.md I13): one token bucket per key, shared by every batch and
  // worker (src/ledger/rate-limit-bucket.ts).
  `CREATE TABLE rate_limits (
     key         TEXT             PRIMARY KEY,
     lim         INTEGER          NOT NULL,
     period_ms   BIGINT           NOT NULL,
     burst       INTEGER          NOT NULL,
     level       DOUBLE PRECISION NOT NULL,
     updated_at  BIGINT           NOT NULL,
     held_until  BIGINT,
     declared_by TEXT             NOT NULL,
     declared_at BIGINT           NOT NULL
   );`,
  // Lanes in slices (INVARIANTS.md I15): an attempt's in-flight items are the range [in_flight,
  // started_to) less what is committed; the lanes the workflow gave a running slice; and the
  // batch's control (pause, stop) and quota hold, which running slices read instead of waiting
  // for a heartbeat's response.
  `ALTER TABLE slice_progress ADD COLUMN started_to BIGINT;
   ALTER TABLE slice_progress ADD COLUMN lanes INTEGER;
   ALTER TABLE slice_progress ADD COLUMN lanes_generation INTEGER;
   CREATE TABLE batch_control (
     batch_id   TEXT    PRIMARY KEY,
     state      TEXT    NOT NULL DEFAULT 'run' CHECK (state IN ('run', 'pause', 'stop')),
     generation INTEGER NOT NULL DEFAULT 0,
     held_until BIGINT,
     held_generation INTEGER
   );`,
  // Adaptive concurrency: lane pools, the lanes the running slices of a batch (or of every batch
  // naming a rate-limit key) may run between them, their holders (the running slices) and each
  // batch's lanes over time (src/ledger/lane-pools.ts).
  `CREATE TABLE lane_pools (
     scope      TEXT    PRIMARY KEY,
     lanes      INTEGER NOT NULL,
     version    INTEGER NOT NULL,
     ceiling    INTEGER,
     clean      INTEGER NOT NULL,
     changed_at BIGINT  NOT NULL,
     cuts       INTEGER NOT NULL,
     cut_at     BIGINT,
     cut_from   INTEGER,
     cut_to     INTEGER,
     cut_cause  TEXT
   );
   CREATE TABLE lane_holders (
     scope       TEXT    NOT NULL,
     holder      TEXT    NOT NULL,
     batch_id    TEXT    NOT NULL,
     slice_start BIGINT NOT NULL,
     want        INTEGER NOT NULL,
     min_lanes   INTEGER NOT NULL,
     max_lanes   INTEGER NOT NULL,
     seen_at     BIGINT NOT NULL,
     PRIMARY KEY (scope, holder)
   );
   CREATE TABLE lane_samples (
     batch_id   TEXT    NOT NULL,
     at         BIGINT NOT NULL,
     lanes      INTEGER NOT NULL,
     pool_lanes INTEGER NOT NULL,
     cut_cause  TEXT,
     PRIMARY KEY (batch_id, at)
   );`,
  // Provider jobs (INVARIANTS.md I17): each job sent to a provider's batch API, recorded before it
  // is submitted (src/ledger/provider-jobs.ts). items: the job's item indexes as JSON runs
  // [[from, to], ...]; first_idx and end_idx bound them, so a slice finds the jobs of its items.
  `CREATE TABLE provider_jobs (
     batch_id         TEXT    NOT NULL,
     job_key          TEXT    NOT NULL,
     provider         TEXT    NOT NULL,
     first_idx        BIGINT  NOT NULL,
     end_idx          BIGINT  NOT NULL,
     items            TEXT    NOT NULL,
     state            TEXT    NOT NULL CHECK (state IN ('intent', 'uploaded', 'creating', 'submitted', 'collected', 'abandoned')),
     owner            TEXT,
     file_id          TEXT,
     job_id           TEXT,
     status           TEXT,
     charged          BOOLEAN NOT NULL DEFAULT true,
     cancel_requested BOOLEAN NOT NULL DEFAULT false,
     odd_polls        INTEGER NOT NULL DEFAULT 0,
     intent_at        BIGINT  NOT NULL,
     creating_at      BIGINT,
     submitted_at     BIGINT,
     ended_at         BIGINT,
     PRIMARY KEY (batch_id, job_key)
   );
   CREATE INDEX provider_jobs_by_first ON provider_jobs (batch_id, first_idx);
   CREATE UNIQUE INDEX provider_jobs_by_job_id ON provider_jobs (provider, job_id) WHERE job_id IS NOT NULL;`,
  // Adaptive concurrency: the wait before lanes one under their ceiling try it again, which
  // doubles with each probe that fails (src/ledger/lane-pool-state.ts).
  `ALTER TABLE lane_pools ADD COLUMN probe_after_ms INTEGER NOT NULL DEFAULT 15000;`,
];

/** The version a ledger has once every migration above is applied. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Key of the advisory lock that serialises migrations: workers that start together would
 * otherwise race on CREATE TABLE. Any constant works as long as every waymark uses the same.
 */
const MIGRATION_LOCK = 0x7761796d; // "waym"

/**
 * Brings the schema of the client's database (and search_path) to the last migration, in one
 * transaction under the migration lock; each applied version is a row of ledger_schema_version.
 * Returns the version the database had, for the caller's message when it is newer than this waymark.
 */
export async function migrate(client: PoolClient): Promise<{ found: number; known: number }> {
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS ledger_schema_version (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM ledger_schema_version');
    const found = rows[0].version ?? 0;
    for (let version = found + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]);
      await client.query('INSERT INTO ledger_schema_version (version) VALUES ($1)', [version]);
    }
    await client.query(found > MIGRATIONS.length ? 'ROLLBACK' : 'COMMIT');
    return { found, known: MIGRATIONS.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
