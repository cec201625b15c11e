/**
 * Lane pools (lane-pools.ts) in the PostgreSQL ledger: each report is one transaction that locks
 * the pool's row, so slices on any machine take turns; the clock is the server's, one for all.
 */
import type { PoolClient } from 'pg';
import { applyReport, newPool, sampleDue, type LaneGrant, type LaneReport } from '../lane-pool-state';
import type { LanePools, LaneSample, LaneView } from '../lane-pools';
import {
  DELETE_HOLDER,
  INSERT_NEW_POOL,
  INSERT_SAMPLE,
  LAST_SAMPLE,
  SELECT_HOLDERS,
  SELECT_POOL,
  SELECT_SAMPLES,
  UPSERT_HOLDER,
  UPSERT_POOL,
  holderParams,
  poolParams,
  toHolderRow,
  toPoolRow,
  toSample,
  toView,
  type LaneHolderDbRow,
  type LanePoolDbRow,
  type LaneSampleDbRow,
} from '../lane-pool-rows';
import { NOW_MS } from './statements';

/** What the store needs of the ledger: a transaction on one connection, and a plain query. */
export interface PostgresAccess {
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  query<R extends object>(sql: string, params: unknown[]): Promise<R[]>;
}

export class PostgresLanePools implements LanePools {
  constructor(private readonly db: PostgresAccess) {}

  reportLanes(scope: string, report: LaneReport, now?: number): Promise<LaneGrant> {
    return this.db.transaction(async (client) => {
      const at = now ?? (await client.query<{ now: number }>(`SELECT ${NOW_MS} AS now`)).rows[0].now;
      // A new pool's row: a second transaction inserting it at once waits for this one, then finds it.
      await client.query(INSERT_NEW_POOL, poolParams(newPool(scope, report.range.min, at)));
      const stored = toPoolRow((await client.query<LanePoolDbRow>(`${SELECT_POOL} FOR UPDATE`, [scope])).rows[0]);
      const holders = (await client.query<LaneHolderDbRow>(SELECT_HOLDERS, [scope])).rows.map(toHolderRow);
      const change = applyReport(scope, stored, holders, report, at);
      await client.query(UPSERT_POOL, poolParams(change.pool));
      if (change.holder === undefined) await client.query(DELETE_HOLDER, [scope, report.holder]);
      else await client.query(UPSERT_HOLDER, holderParams(change.holder));
      for (const holder of change.expired) await client.query(DELETE_HOLDER, [scope, holder]);
      const last = (await client.query<LaneSampleDbRow>(LAST_SAMPLE, [report.batchId])).rows[0];
      if (sampleDue(last && { at: last.at, lanes: last.lanes, poolLanes: last.pool_lanes }, change.grant, at)) {
        const { grant } = change;
        await client.query(INSERT_SAMPLE, [report.batchId, at, grant.batchLanes, grant.poolLanes, grant.cut ? grant.lastCut!.cause : null]);
      }
      return change.grant;
    });
  }

  async laneView(scope: string, batchId: string): Promise<LaneView | undefined> {
    const [pool] = await this.db.query<LanePoolDbRow>(SELECT_POOL, [scope]);
    if (pool === undefined) return undefined;
    const [last] = await this.db.query<LaneSampleDbRow>(LAST_SAMPLE, [batchId]);
    return toView(toPoolRow(pool), last);
  }

  async laneSamples(batchId: string): Promise<LaneSample[]> {
    return (await this.db.query<LaneSampleDbRow>(SELECT_SAMPLES, [batchId])).map(toSample);
  }
}
