/**
 * Provider jobs (INVARIANTS.md I17): the jobs a batch sends to a provider's batch API, each
 * recorded BEFORE it is submitted and moved on, step by step, as its submission goes (intent,
 * uploaded, creating, submitted), so that a worker killed at any point leaves a row that the next
 * attempt finds and follows up instead of submitting the items again. A job is live from its
 * intent until it is collected (its results read and committed) or abandoned (it was never
 * created); an item is in at most one live job, which recordProviderIntent enforces.
 */

export type ProviderJobState = 'intent' | 'uploaded' | 'creating' | 'submitted' | 'collected' | 'abandoned';

/** States in which a job holds its items: it exists at the provider, or may. */
export const LIVE_JOB_STATES: readonly ProviderJobState[] = ['intent', 'uploaded', 'creating', 'submitted'];

export function isLive(job: Pick<ProviderJob, 'state'>): boolean {
  return LIVE_JOB_STATES.includes(job.state);
}

export interface ProviderJob {
  batchId: string;
  /** waymark's name of the job, unique in the batch, sent to the provider with it (metadata, file name). */
  key: string;
  provider: string;
  /** The item indexes of the job's requests, in the order of its lines. */
  items: number[];
  state: ProviderJobState;
  /** The slice attempt that may move the job's submission on; a newer attempt takes it over. */
  owner: string | null;
  /** The uploaded input file (OpenAI). */
  fileId?: string;
  /** The provider's id of the job, once created. */
  jobId?: string;
  /** The provider's status as last seen. */
  status?: string;
  /** Whether the job counts as an attempt of its items: false when it never ran them (refused, token limit). */
  charged: boolean;
  /** Whether waymark asked the provider to cancel it (a cancelled or stopped batch). */
  cancelRequested: boolean;
  /** Polls in a row that found the job odd (404 after create, ended without its files): bounded. */
  oddPolls: number;
  /** Epoch ms: the intent was recorded, the create was about to be sent, the provider's id recorded, the job collected. */
  intentAt: number;
  creatingAt?: number;
  submittedAt?: number;
  endedAt?: number;
}

export type NewProviderJob = Pick<ProviderJob, 'batchId' | 'key' | 'provider' | 'items' | 'intentAt'> & { owner: string };

/** What one step changes of a job; fields left out stay. */
export type ProviderJobChange = Partial<
  Pick<
    ProviderJob,
    'state' | 'fileId' | 'jobId' | 'status' | 'charged' | 'cancelRequested' | 'oddPolls' | 'creatingAt' | 'submittedAt' | 'endedAt'
  >
>;

export interface ProviderJobs {
  /** The batch's jobs that hold any item of [from, to), oldest first. */
  providerJobs(batchId: string, from: number, to: number): Promise<ProviderJob[]>;
  /**
   * Records a job about to be submitted, owned by `job.owner`, in one transaction with the check
   * that no live job of the batch holds any of its items (I17). Returns false, recording
   * nothing, when one does: another attempt got there first.
   */
  recordProviderIntent(job: NewProviderJob): Promise<boolean>;
  /** Makes `owner` the job's owner: the attempt that owned it before can move it on no more. */
  takeProviderJob(batchId: string, key: string, owner: string): Promise<void>;
  /**
   * Applies `change` to the job. With `owner`, only while that attempt owns the job, else
   * LeaseLostError: a step of a submission is taken by the job's owner alone.
   */
  updateProviderJob(batchId: string, key: string, change: ProviderJobChange, owner?: string): Promise<void>;
  /** Which of `jobIds` of `provider` some job row of any batch holds: a job found by listing is adopted only if none does. */
  recordedProviderJobIds(provider: string, jobIds: string[]): Promise<string[]>;
}

/** Item indexes as runs [from, to): a job of 50,000 consecutive items is one pair. */
export function toRuns(items: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const index of items) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === index) last[1]++;
    else runs.push([index, index + 1]);
  }
  return runs;
}

export function fromRuns(runs: readonly [number, number][]): number[] {
  const items: number[] = [];
  for (const [from, to] of runs) for (let i = from; i < to; i++) items.push(i);
  return items;
}

/** Another attempt took the job over (this one was cut off and replaced): this attempt stops. */
export class ProviderJobTakenError extends Error {
  constructor(batchId: string, key: string) {
    super(`provider job ${key} of batch ${batchId} was taken over by a newer attempt; this attempt stops`);
    this.name = 'ProviderJobTakenError';
  }
}

/** A job row as both ledgers store it. */
export interface ProviderJobRow {
  batch_id: string;
  job_key: string;
  provider: string;
  items: string;
  state: ProviderJobState;
  owner: string | null;
  file_id: string | null;
  job_id: string | null;
  status: string | null;
  charged: number | boolean;
  cancel_requested: number | boolean;
  odd_polls: number;
  intent_at: number;
  creating_at: number | null;
  submitted_at: number | null;
  ended_at: number | null;
}

export function toProviderJob(row: ProviderJobRow): ProviderJob {
  return {
    batchId: row.batch_id,
    key: row.job_key,
    provider: row.provider,
    items: fromRuns(JSON.parse(row.items) as [number, number][]),
    state: row.state,
    owner: row.owner,
    ...(row.file_id !== null ? { fileId: row.file_id } : {}),
    ...(row.job_id !== null ? { jobId: row.job_id } : {}),
    ...(row.status !== null ? { status: row.status } : {}),
    charged: Boolean(row.charged),
    cancelRequested: Boolean(row.cancel_requested),
    oddPolls: row.odd_polls,
    intentAt: row.intent_at,
    ...(row.creating_at !== null ? { creatingAt: row.creating_at } : {}),
    ...(row.submitted_at !== null ? { submittedAt: row.submitted_at } : {}),
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
  };
}

/** The columns a ProviderJobChange sets, by field, with the value as the column takes it. */
export function changeColumns(change: ProviderJobChange): [column: string, value: unknown][] {
  const columns: Record<keyof ProviderJobChange, string> = {
    state: 'state',
    fileId: 'file_id',
    jobId: 'job_id',
    status: 'status',
    charged: 'charged',
    cancelRequested: 'cancel_requested',
    oddPolls: 'odd_polls',
    creatingAt: 'creating_at',
    submittedAt: 'submitted_at',
    endedAt: 'ended_at',
  };
  return (Object.keys(change) as (keyof ProviderJobChange)[])
    .filter((field) => change[field] !== undefined)
    .map((field) => [columns[field], change[field]]);
}

/** Whether any live job among `jobs` holds any of `items`. */
export function liveJobHolds(jobs: readonly ProviderJob[], items: readonly number[]): boolean {
  const wanted = new Set(items);
  return jobs.some((job) => isLive(job) && job.items.some((index) => wanted.has(index)));
}

/** The smallest index of `items` and one past the largest: the range a job's row is found by. */
export function itemBounds(items: readonly number[]): { first: number; end: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const index of items) {
    if (index < first) first = index;
    if (index > last) last = index;
  }
  return { first, end: last + 1 };
}

/** Whether a job holds an item of [from, to): rows are found by their bounds, jobs kept by their items. */
export function holdsAny(from: number, to: number): (job: ProviderJob) => boolean {
  return (job) => job.items.some((index) => index >= from && index < to);
}
