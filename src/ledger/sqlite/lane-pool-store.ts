/**
 * Lane pools (lane-pools.ts) in the SQLite ledger: each report is one IMMEDIATE transaction, so
 * the worker processes sharing the file take turns, each reading what the one before wrote.
 */
import type Database from 'better-sqlite3';
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

export class SqliteLanePools implements LanePools {
  constructor(private readonly db: Database.Database) {}

  private sql(statement: string): Database.Statement {
    return this.db.prepare(statement.replace(/\$\d+/g, '?'));
  }

  async reportLanes(scope: string, report: LaneReport, now = Date.now()): Promise<LaneGrant> {
    return this.db
      .transaction(() => {
        this.sql(INSERT_NEW_POOL).run(...poolParams(newPool(scope, report.range.min, now)));
        const stored = toPoolRow(this.sql(SELECT_POOL).get(scope) as LanePoolDbRow);
        const holders = (this.sql(SELECT_HOLDERS).all(scope) as LaneHolderDbRow[]).map(toHolderRow);
        const change = applyReport(scope, stored, holders, report, now);
        this.sql(UPSERT_POOL).run(...poolParams(change.pool));
        if (change.holder === undefined) this.sql(DELETE_HOLDER).run(scope, report.holder);
        else this.sql(UPSERT_HOLDER).run(...holderParams(change.holder));
        for (const holder of change.expired) this.sql(DELETE_HOLDER).run(scope, holder);
        const last = this.sql(LAST_SAMPLE).get(report.batchId) as LaneSampleDbRow | undefined;
        if (sampleDue(last && { at: last.at, lanes: last.lanes, poolLanes: last.pool_lanes }, change.grant, now)) {
          const { grant } = change;
          this.sql(INSERT_SAMPLE).run(report.batchId, now, grant.batchLanes, grant.poolLanes, grant.cut ? grant.lastCut!.cause : null);
        }
        return change.grant;
      })
      .immediate();
  }

  async laneView(scope: string, batchId: string): Promise<LaneView | undefined> {
    const pool = this.sql(SELECT_POOL).get(scope) as LanePoolDbRow | undefined;
    if (pool === undefined) return undefined;
    return toView(toPoolRow(pool), this.sql(LAST_SAMPLE).get(batchId) as LaneSampleDbRow | undefined);
  }

  async laneSamples(batchId: string): Promise<LaneSample[]> {
    return (this.sql(SELECT_SAMPLES).all(batchId) as LaneSampleDbRow[]).map(toSample);
  }
}
