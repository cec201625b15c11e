/**
 * A PostgreSQL table as a source: workers on many machines read their slices from the database,
 * so a batch needs no file system they all share.
 *
 * Items are the table's rows in the order of `keyColumn`, an integer column that is NOT NULL and
 * unique. Item i is the row of rank i (0-based) in key order when its window is planned. A slice's
 * offsets are keys, not bytes: `startOffset` is the slice's first key and `endOffset` the key after
 * it (the next slice's first key, or the window's last key + 1), so a slice reads
 * `WHERE key >= startOffset AND key < endOffset ORDER BY key` through the key's index, in time
 * proportional to the slice, whichever worker runs it and however late.
 *
 * The table must hold still for the batch, or only grow above every key already planned: a row
 * inserted into or deleted from a planned range would shift the indexes after it. A slice that
 * finds another number of rows than were planned in its range fails the batch with that reason,
 * rather than hand items to the wrong indexes.
 *
 * The database URL comes from an environment variable of the worker (`source.urlEnv`, default
 * WAYMARK_SOURCE_URL), so its password never enters workflow history.
 */
import { escapeIdentifier, Pool } from 'pg';
import type { SourceSpec } from '../contract/batch-spec';
import type { Source, SourceItem } from './source';
import { SourceUnavailableError } from './source';
import { postgresUrlProblem } from '../postgres/url';
import { maskUrl } from '../mask-secrets';
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';
import { checkSliceCut, type SliceCut } from './window-planner';

/** Where the worker finds the source database's URL when the spec names no other variable. */
export const DEFAULT_SOURCE_URL_ENV = 'WAYMARK_SOURCE_URL';

/** Rows per query of readSlice: a slice of any size is read in pages of this, by key. */
const PAGE_ROWS = 1000;

const INTEGER_TYPES = ['smallint', 'integer', 'bigint'];

/**
 * One pool per database URL per process: a source is opened for every activity, and its
 * connections must outlive it. Idle connections close after a few seconds and do not keep the
 * process alive.
 */
const pools = new Map<string, Pool>();

function poolFor(url: string): Pool {
  let pool = pools.get(url);
  if (!pool) {
    pool = new Pool({ connectionString: url, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 5_000, allowExitOnIdle: true });
    // A server that closes an idle connection (restart, idle timeout) must not kill the worker.
    pool.on('error', () => {});
    pools.set(url, pool);
  }
  return pool;
}

/** Closes every source pool of this process (tests, and tools that exit on their own). */
export async function closeTableSourcePools(): Promise<void> {
  const open = [...pools.values()];
  pools.clear();
  await Promise.all(open.map((pool) => pool.end()));
}

/**
 * The source a `postgres-table` spec describes. Checks only the URL variable now (no I/O): the
 * table and its key are checked by the first count or plan, against the database.
 */
export function openPostgresTableSource(spec: SourceSpec): PostgresTableSource {
  if (spec.keyColumn === undefined) throw new SourceUnavailableError('source.keyColumn is required for a postgres-table source');
  const variable = spec.urlEnv ?? DEFAULT_SOURCE_URL_ENV;
  const url = process.env[variable];
  const setIt = `set ${variable}=postgres://USER:PASSWORD@HOST:PORT/DATABASE in the environment of every worker (the spec names the variable, not the URL, so the password stays out of workflow history)`;
  if (!url) {
    throw new SourceUnavailableError(
      `the postgres-table source reads its database URL from ${variable}${spec.urlEnv ? ' (source.urlEnv)' : ''}, which is not set on this worker; ${setIt}`,
    );
  }
  const problem = postgresUrlProblem(url);
  if (problem) throw new SourceUnavailableError(`${variable}=${maskUrl(url)} ${problem}; ${setIt}`);
  return new PostgresTableSource(poolFor(url), maskUrl(url), spec.path, spec.keyColumn, spec.columns);
}

interface BoundaryRow {
  k: string;
  n: number;
}

export class PostgresTableSource implements Source {
  /** The table and key as SQL identifiers, quoted: names are taken exactly as written. */
  private readonly table: string;
  private readonly key: string;
  /** The item's value: the row, or the chosen columns, as PostgreSQL renders it in JSON. */
  private readonly value: string;
  private checked: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    /** The URL with its password masked, for messages. */
    private readonly where: string,
    /** `table` or `schema.table`, as in source.path. */
    private readonly tableName: string,
    private readonly keyName: string,
    columns?: string[],
  ) {
    this.table = tableName.split('.').map(escapeIdentifier).join('.');
    this.key = `t.${escapeIdentifier(keyName)}`;
    this.value = columns
      ? `(SELECT row_to_json(r) FROM (SELECT ${columns.map((c) => `t.${escapeIdentifier(c)}`).join(', ')}) r)`
      : 'row_to_json(t)';
  }

  async countItems(): Promise<number> {
    await this.checkKey();
    const rows = await this.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${this.table} t`, []);
    return Number(rows[0].n);
  }

  /**
   * Asks the database for the slice boundaries only: the key of the first row of every slice, the
   * window's last row, and whether a row lies past it. `from.offset` is the key to start at, except
   * for the first window (index 0), which starts at the smallest key, negative ones included.
   */
  async planWindow(from: SourcePosition, maxItems: number, cut: SliceCut): Promise<WindowPlan> {
    if (!Number.isSafeInteger(maxItems) || maxItems < 0) throw new RangeError(`maxItems must be a whole number >= 0, got ${maxItems}`);
    checkSliceCut(cut);
    await this.checkKey();
    // Slices of S rows start at every S-th row; a list of sizes names the rows its slices start at.
    const sliceStarts = typeof cut === 'number' ? cut : startRows(cut, maxItems);
    const startsAt = typeof cut === 'number' ? '(n - 1) % $2::integer = 0' : 'n = ANY($2::integer[])';
    const params: (number | number[])[] = [maxItems, sliceStarts];
    if (from.index > 0) params.push(from.offset);
    const rows = await this.query<BoundaryRow>(
      `SELECT k::text AS k, n::integer AS n FROM (
         SELECT k, row_number() OVER (ORDER BY k) AS n, count(*) OVER () AS total
         FROM (SELECT ${this.key} AS k FROM ${this.table} t ${from.index > 0 ? `WHERE ${this.key} >= $3::bigint` : ''} ORDER BY ${this.key} LIMIT $1::integer + 1) w
       ) x
       WHERE (n <= $1::integer AND (${startsAt} OR n = least(total, $1::integer))) OR n = $1::integer + 1
       ORDER BY n`,
      params,
    );
    const exhausted = !rows.some((r) => r.n === maxItems + 1);
    const bounds = rows.filter((r) => r.n <= maxItems);
    if (bounds.length === 0) return { slices: [], next: from, exhausted };
    const planned = bounds[bounds.length - 1].n;
    const afterWindow = this.toKey(bounds[bounds.length - 1].k) + 1;
    if (!Number.isSafeInteger(afterWindow)) throw this.keyTooLarge(bounds[bounds.length - 1].k);
    const isStart = typeof cut === 'number' ? (n: number) => (n - 1) % cut === 0 : (n: number) => (sliceStarts as number[]).includes(n);
    const starts = bounds.filter((r) => isStart(r.n));
    const slices = starts.map((r, i): SliceBounds => ({
      start: from.index + r.n - 1,
      count: (i + 1 < starts.length ? starts[i + 1].n : planned + 1) - r.n,
      startOffset: this.toKey(r.k),
      endOffset: i + 1 < starts.length ? this.toKey(starts[i + 1].k) : afterWindow,
    }));
    return { slices, next: { index: from.index + planned, offset: afterWindow }, exhausted };
  }

  /** The slice's rows by key range, a page at a time, each page starting after the last key read. */
  async *readSlice(slice: SliceBounds): AsyncGenerator<SourceItem> {
    const end = slice.start + slice.count;
    let index = slice.start;
    let fromKey = slice.startOffset;
    for (;;) {
      const rows = await this.query<{ k: string; v: unknown }>(
        `SELECT ${this.key}::text AS k, ${this.value} AS v FROM ${this.table} t
         WHERE ${this.key} >= $1::bigint AND ${this.key} < $2::bigint ORDER BY ${this.key} LIMIT ${PAGE_ROWS}`,
        [fromKey, slice.endOffset],
      );
      for (const row of rows) {
        if (index === end) throw this.changed(slice, 'more rows');
        yield { index, value: row.v };
        index++;
      }
      if (rows.length < PAGE_ROWS) break;
      fromKey = this.toKey(rows[rows.length - 1].k) + 1;
    }
    if (index !== end) throw this.changed(slice, `${index - slice.start} rows`);
  }

  /** Once per source: the key exists, is an integer, NOT NULL and unique, or the batch is refused. */
  private checkKey(): Promise<void> {
    this.checked ??= this.readKeyColumn().catch((err: unknown) => {
      this.checked = undefined;
      throw err;
    });
    return this.checked;
  }

  private async readKeyColumn(): Promise<void> {
    const rows = await this.query<{ found: boolean; type: string | null; not_null: boolean | null; is_unique: boolean | null }>(
      `SELECT c.oid IS NOT NULL AS found, a.atttypid::regtype::text AS type, a.attnotnull AS not_null,
         EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1
                 AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) AS is_unique
       FROM (SELECT to_regclass($1)::oid AS oid) c
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
      [this.table, this.keyName],
    );
    const column = rows[0];
    const key = `source.keyColumn "${this.keyName}" of table ${this.tableName}`;
    if (!column.found) {
      throw new SourceUnavailableError(
        `source table ${this.tableName} not found in ${this.where} (check source.path: table or schema.table, case-sensitive as written, and the database in the URL)`,
      );
    }
    if (column.type === null)
      throw new SourceUnavailableError(`${key} does not exist (check source.keyColumn; names are case-sensitive as written)`);
    if (!INTEGER_TYPES.includes(column.type)) {
      throw new SourceUnavailableError(
        `${key} is ${column.type}; the key must be an integer column (smallint, integer or bigint) whose order is the item order`,
      );
    }
    if (!column.not_null || !column.is_unique) {
      throw new SourceUnavailableError(
        `${key} must be NOT NULL and unique (a primary key, or a unique index on that column alone), so each key names one item; ` +
          `it is ${[column.not_null ? '' : 'nullable', column.is_unique ? '' : 'without a unique index'].filter(Boolean).join(' and ')}`,
      );
    }
  }

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.explain(err);
    }
  }

  /**
   * What no retry will fix (a missing table or column, a refused login, no SELECT right) fails the
   * batch with what to fix; a server that does not answer is retried like any passing trouble.
   */
  private explain(err: unknown): unknown {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message || code || err.name : String(err);
    switch (code) {
      case '42P01':
      case '3F000':
        return new SourceUnavailableError(`source table ${this.tableName} not found in ${this.where}: ${message} (check source.path)`);
      case '42703':
        return new SourceUnavailableError(
          `source table ${this.tableName}: ${message} (check source.columns and source.keyColumn; names are case-sensitive as written)`,
        );
      case '42501':
        return new SourceUnavailableError(`source table ${this.tableName}: ${message} (grant SELECT on it to the user in the source URL)`);
      case '28P01':
      case '28000':
        return new SourceUnavailableError(
          `the source database ${this.where} refused the login: ${message} (check the user and password in the source URL)`,
        );
      case '3D000':
        return new SourceUnavailableError(
          `the source database in ${this.where} does not exist: ${message} (fix the database name in the source URL)`,
        );
      default:
        if (code === undefined || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57P)/.test(code))
          return new Error(`cannot reach the source database ${this.where}: ${message}`);
        return err;
    }
  }

  private toKey(text: string): number {
    const key = Number(text);
    if (!Number.isSafeInteger(key)) throw this.keyTooLarge(text);
    return key;
  }

  private keyTooLarge(text: string): SourceUnavailableError {
    return new SourceUnavailableError(
      `source table ${this.tableName} has key ${text}, beyond ±2^53, which waymark cannot carry as a slice bound; use keys of at most 15 digits`,
    );
  }

  private changed(slice: SliceBounds, found: string): SourceUnavailableError {
    return new SourceUnavailableError(
      `source table ${this.tableName} changed since its window was planned: items ${slice.start}-${slice.start + slice.count - 1} were planned as the ` +
        `${slice.count} rows with ${this.keyName} in [${slice.startOffset}, ${slice.endOffset}), but the range now holds ${found}; ` +
        'the table must not change within planned key ranges while its batch runs (append rows only above every planned key): restore the rows, or start a new batch',
    );
  }
}

/** Row numbers (from 1) at which the slices of a list of sizes start, within `maxItems` rows. */
function startRows(cut: readonly number[], maxItems: number): number[] {
  const rows: number[] = [];
  for (let row = 1, i = 0; row <= maxItems; row += cut[Math.min(i, cut.length - 1)], i++) rows.push(row);
  return rows;
}
