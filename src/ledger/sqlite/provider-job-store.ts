/**
 * The SQLite ledger's provider jobs (src/ledger/provider-jobs.ts). Every write is one IMMEDIATE
 * transaction: worker processes on the file take turns, so an intent's check that no live job
 * holds its items and its insert see no other writer in between (INVARIANTS.md I17).
 */
import type Database from 'better-sqlite3';
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

export class SqliteProviderJobs implements ProviderJobs {
  private readonly overlapping: Database.Statement<[string, number, number], ProviderJobRow>;
  private readonly insert: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.overlapping = db.prepare(
      'SELECT * FROM provider_jobs WHERE batch_id = ? AND first_idx < ? AND end_idx > ? ORDER BY intent_at, job_key',
    );
    this.insert = db.prepare(
      `INSERT INTO provider_jobs (batch_id, job_key, provider, first_idx, end_idx, items, state, owner, intent_at)
       VALUES (?, ?, ?, ?, ?, ?, 'intent', ?, ?)`,
    );
  }

  async providerJobs(batchId: string, from: number, to: number): Promise<ProviderJob[]> {
    return this.overlapping.all(batchId, to, from).map(toProviderJob).filter(holdsAny(from, to));
  }

  async recordProviderIntent(job: NewProviderJob): Promise<boolean> {
    const { first, end } = itemBounds(job.items);
    return this.db
      .transaction(() => {
        const holding = this.overlapping.all(job.batchId, end, first).map(toProviderJob);
        if (liveJobHolds(holding, job.items)) return false;
        this.insert.run(job.batchId, job.key, job.provider, first, end, JSON.stringify(toRuns(job.items)), job.owner, job.intentAt);
        return true;
      })
      .immediate();
  }

  async takeProviderJob(batchId: string, key: string, owner: string): Promise<void> {
    this.db.prepare('UPDATE provider_jobs SET owner = ? WHERE batch_id = ? AND job_key = ?').run(owner, batchId, key);
  }

  async updateProviderJob(batchId: string, key: string, change: ProviderJobChange, owner?: string): Promise<void> {
    const columns = changeColumns(change);
    if (columns.length === 0) return;
    // better-sqlite3 binds no booleans: 1 and 0, as the columns hold them.
    const values = columns.map(([, value]) => (typeof value === 'boolean' ? Number(value) : value));
    const sets = columns.map(([column]) => `${column} = ?`).join(', ');
    const fence = owner === undefined ? '' : ' AND owner = ?';
    const changed = this.db
      .prepare(`UPDATE provider_jobs SET ${sets} WHERE batch_id = ? AND job_key = ?${fence}`)
      .run(...values, batchId, key, ...(owner === undefined ? [] : [owner])).changes;
    if (changed === 0 && owner !== undefined) throw new ProviderJobTakenError(batchId, key);
  }

  async recordedProviderJobIds(provider: string, jobIds: string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const marks = jobIds.map(() => '?').join(', ');
    const rows = this.db
      .prepare(`SELECT job_id FROM provider_jobs WHERE provider = ? AND job_id IN (${marks})`)
      .all(provider, ...jobIds) as { job_id: string }[];
    return rows.map((r) => r.job_id);
  }
}
