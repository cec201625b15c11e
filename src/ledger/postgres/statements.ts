/** The PostgreSQL ledger's statements that are more than one line, and how values are made fit for them. */
import type { OutcomeToCommit } from '../outcome-store';
import { inFlightRange, type InFlight } from '../slice-ownership';

/** The server's clock in epoch ms: workers on several machines share the suspect lease, so one clock decides. */
export const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/**
 * A commit group's rows, from one array per column ($4 to $12), in index order: two groups that
 * share items then take their row locks in the same order and cannot deadlock.
 */
const GROUP_ROWS = `
  SELECT $1, o.* FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::integer[], $10::bigint[], $11::bigint[], $12::text[])
    AS o (idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage)`;

const INSERT_GROUP =
  'INSERT INTO items (batch_id, idx, status, result, error_type, error_message, attempts, started_at, finished_at, usage)';

/**
 * A commit is one statement, so one round trip and atomic by itself. With an owner, the fence
 * runs first: it locks the slice's row, so a newer attempt's claim waits for this commit, or
 * this commit (after waiting for the claim) sees the new owner, updates nothing and inserts nothing.
 */
/**
 * The usage of the items a commit inserted (`committed`, not those a second commit of them left
 * alone: I3), added to the batch's running totals, unit by unit in name order so that commits
 * that meet on a unit's row lock it in the same order.
 */
const ADD_USAGE = `
  INSERT INTO batch_usage (batch_id, unit, total)
  SELECT $1, u.key, sum(u.value::double precision)
  FROM committed CROSS JOIN LATERAL jsonb_each_text(committed.usage::jsonb) AS u
  WHERE committed.usage IS NOT NULL GROUP BY u.key ORDER BY u.key
  ON CONFLICT (batch_id, unit) DO UPDATE SET total = batch_usage.total + excluded.total`;

export const COMMIT_OWNED = `
  WITH fence AS (
    UPDATE slice_progress SET in_flight = $3, started_to = $14, cut_short = false
    WHERE batch_id = $1 AND slice_start = $2 AND owner = $13 RETURNING 1
  ), committed AS (
    ${INSERT_GROUP} ${GROUP_ROWS}
    WHERE EXISTS (SELECT FROM fence) ORDER BY o.idx
    ON CONFLICT (batch_id, idx) DO NOTHING
    RETURNING usage
  ), used AS (${ADD_USAGE})
  SELECT count(*)::integer AS held FROM fence`;

export const COMMIT_UNOWNED = `
  WITH progress AS (
    INSERT INTO slice_progress (batch_id, slice_start, in_flight, started_to) VALUES ($1, $2, $3, $13)
    ON CONFLICT (batch_id, slice_start) DO UPDATE SET in_flight = excluded.in_flight, started_to = excluded.started_to, cut_short = false
    RETURNING 1
  ), committed AS (
    ${INSERT_GROUP} ${GROUP_ROWS}
    WHERE EXISTS (SELECT FROM progress) ORDER BY o.idx
    ON CONFLICT (batch_id, idx) DO NOTHING
    RETURNING usage
  )
  ${ADD_USAGE}`;

/**
 * PostgreSQL text cannot hold NUL, and an error message (a process's stderr, say) can: the
 * commit would fail and the item could never be recorded. Results are JSON, where NUL is escaped.
 */
function storableText(text: string | undefined): string | null {
  return text === undefined ? null : text.replaceAll('\0', '\uFFFD');
}

/**
 * Parameters of COMMIT_UNOWNED ($1 to $13: the slice, one array per column, the in-flight range's
 * end) and COMMIT_OWNED (the same, the owner at $13 and the range's end at $14).
 */
export function commitParams(
  batchId: string,
  sliceStart: number,
  inFlight: InFlight,
  outcomes: OutcomeToCommit[],
  owner?: string,
): unknown[] {
  const range = inFlightRange(inFlight);
  return [
    batchId,
    sliceStart,
    range?.from ?? null,
    outcomes.map((o) => o.index),
    outcomes.map((o) => o.status),
    outcomes.map((o) => o.resultJson ?? null),
    outcomes.map((o) => storableText(o.errorType)),
    outcomes.map((o) => storableText(o.errorMessage)),
    outcomes.map((o) => o.attempts),
    outcomes.map((o) => o.startedAt),
    outcomes.map((o) => o.finishedAt),
    outcomes.map((o) => (o.usage === undefined ? null : JSON.stringify(o.usage))),
    ...(owner === undefined ? [] : [owner]),
    range?.to ?? null,
  ];
}
