/**
 * Provider jobs as the workflow and its clients see them: a job a provider's batch API runs
 * (OpenAI Batch, Anthropic Message Batches) by its id and state, and what a slice has at the
 * provider. Ids, states and counts only, never items (INVARIANTS.md I1). Types only, so workflow
 * code can import them.
 */

/** One provider job as a slice last saw it. */
export interface ProviderJobView {
  /** The provider's id of the job (`batch_...`, `msgbatch_...`), or waymark's key while it is being submitted. */
  id: string;
  /** The provider's status (`validating`, `in_progress`, `finalizing`, `cancelling`, `canceling`, ...), or `submitting`. */
  status: string;
  /** Items the job holds. */
  items: number;
}

/**
 * What a slice of a provider batch processor has at the provider after a pass: its live jobs and
 * the items they hold, and its items still waiting to be sent (a pause, a quota wait, a budget).
 */
export interface ProviderSliceView {
  jobs: ProviderJobView[];
  atProvider: number;
  waiting: number;
}

/**
 * The batch's items at the provider, over its slices that have jobs there: shown by status,
 * `--wait` and the Web UI. Items waiting to be sent are the rest: total less done less these.
 */
export interface ProviderProgress {
  atProvider: number;
  /** The jobs, at most MAX_JOBS_SHOWN of them, oldest slice first; `jobCount` counts them all. */
  jobs: ProviderJobView[];
  jobCount: number;
}

/** The most jobs progress lists by id: a query's answer stays small whatever the batch. */
export const MAX_JOBS_SHOWN = 20;
