/**
 * The PostgreSQL ledger's provider jobs (src/ledger/provider-jobs.ts). An intent's check that no
 * live job holds its items and its insert run in one transaction under an advisory lock on the
 * batch, so workers on many machines recording jobs of one batch take turns (INVARIANTS.md I17).
 */
import type { Pool, PoolClient } from 'pg';
import {
  ProviderJobTakenError,
  changeColumns,
  holdsAny,
  itemBounds,
  liveJobHolds,
  toProviderJob,
  toRuns,
  type NewProviderJob,
  type ProviderJob,
  type ProviderJobChange,
  type ProviderJobRow,
  type ProviderJobs,
} from '../provider-jobs';

const OVERLAPPING = 'SELECT * FROM provider_jobs WHERE batch_id = $1 AND first_idx < $2 AND end_idx > $3 ORDER BY intent_at, job_key';

/** The advisory lock key space of provider intents, apart from the migration lock's. */
const INTENT_LOCK_SPACE = 0x70726f76; // "prov"

export class PostgresProviderJobs implements ProviderJobs {
  constructor(
    private readonly pool: Pool,
    /** Connects and migrates once, before the first statement. */
    private readonly ready: () => Promise<void>,
    /** Runs `work` in one transaction on one connection. */
    private readonly transaction: <T>(work: (client: PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  async providerJobs(batchId: string, from: number, to: number): Promise<ProviderJob[]> {
    await this.ready();
    return (await this.pool.query<ProviderJobRow>(OVERLAPPING, [batchId, to, from])).rows.map(toProviderJob).filter(holdsAny(from, to));
  }

  async recordProviderIntent(job: NewProviderJob): Promise<boolean> {
    const { first, end } = itemBounds(job.items);
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [INTENT_LOCK_SPACE, job.batchId]);
      const holding = (await client.query<ProviderJobRow>(OVERLAPPING, [job.batchId, end, first])).rows.map(toProviderJob);
      if (liveJobHolds(holding, job.items)) return false;
      await client.query(
        `INSERT INTO provider_jobs (batch_id, job_key, provider, first_idx, end_idx, items, state, owner, intent_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'intent', $7, $8)`,
        [job.batchId, job.key, job.provider, first, end, JSON.stringify(toRuns(job.items)), job.owner, job.intentAt],
      );
      return true;
    });
  }

  async takeProviderJob(batchId: string, key: string, owner: string): Promise<void> {
    await this.ready();
    await this.pool.query('UPDATE provider_jobs SET owner = $3 WHERE batch_id = $1 AND job_key = $2', [batchId, key, owner]);
  }

  async updateProviderJob(batchId: string, key: string, change: ProviderJobChange, owner?: string): Promise<void> {
    const columns = changeColumns(change);
    if (columns.length === 0) return;
    await this.ready();
    const sets = columns.map(([column], i) => `${column} = $${i + 3}`).join(', ');
    const fence = owner === undefined ? '' : ` AND owner = $${columns.length + 3}`;
    const params = [batchId, key, ...columns.map(([, value]) => value), ...(owner === undefined ? [] : [owner])];
    const { rowCount } = await this.pool.query(`UPDATE provider_jobs SET ${sets} WHERE batch_id = $1 AND job_key = $2${fence}`, params);
    if (rowCount === 0 && owner !== undefined) throw new ProviderJobTakenError(batchId, key);
  }

  async recordedProviderJobIds(provider: string, jobIds: string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    await this.ready();
    const { rows } = await this.pool.query<{ job_id: string }>(
      'SELECT job_id FROM provider_jobs WHERE provider = $1 AND job_id = ANY($2::text[])',
      [provider, jobIds],
    );
    return rows.map((r) => r.job_id);
  }
}
