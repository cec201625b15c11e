/**
 * The workflow's messages: its type name, query, signals and update, and the shapes a client reads.
 * Safe to import from client code (no workflow-only APIs run at import time).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchManifest } from './activity-io';
import type { CommittedCounts } from './slices';
import type { Usage } from './usage';
import type { AdaptiveLanesProgress, Concurrency } from './adaptive-concurrency';
import type { ProviderProgress } from './provider-jobs';

export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

export type BatchState =
  | 'planning'
  | 'running'
  | 'paused'
  /** Paused because the batch's usage reached its budget: `configure --budget N` raises it and the batch goes on. */
  | 'budget-reached'
  | 'waiting-for-quota'
  | 'stopping'
  | 'finalizing'
  | 'completed'
  | 'failed-tolerance'
  | 'cancelled';

export interface BatchProgress {
  state: BatchState;
  /** Items in the source, once counted. */
  total?: number;
  /** Committed outcomes as the workflow knows them: finished slices, or the ledger's totals when it last read them. */
  succeeded: number;
  failed: number;
  redone: number;
  /** What committed items used, per unit, as the workflow last read it from the ledger (or the manifest). */
  usage?: Usage;
  /**
   * For clients that add the heartbeats of running slices (src/cli/batch-progress.ts): counts of
   * the finished slices alone, and the partial tallies of slices stopped by a quota wait, by
   * their first index. A running slice's heartbeat tally replaces its partial one.
   */
  finishedSlices?: CommittedCounts;
  partialSlices?: Record<string, CommittedCounts>;
  /** Heartbeats the slices recorded so far (those still running not counted): part of the batch's orchestration cost. */
  heartbeats?: number;
  /** Every item before this index has a committed outcome. */
  cursor: number;
  /** Workflow runs so far, this one included. */
  runs: number;
  slicesInFlight: number;
  resumeCostBound: number;
  /** While waiting for quota: epoch milliseconds when work resumes. */
  quotaUntil?: number;
  /** The spec's budget, as configure left it. */
  budget?: BatchBudget;
  /** While waiting for quota in a batch with a named rate limit: the key whose rate paces the batch. */
  pacedOn?: string;
  /** ... or the key a quota signal from the API holds, for every batch that names it. */
  heldOn?: string;
  startedAt: number;
  /** The settings `configure` can change, as they stand now. */
  concurrency: number;
  sliceSize: number;
  /** Lanes the running slices hold, lent lanes included (batches whose slices run many items at once). */
  lanesHeld?: number;
  /** Adaptive lanes (`concurrency: auto`): those found, the batch's bounds, and the last cut with its cause. */
  adaptiveLanes?: AdaptiveLanesProgress;
  /**
   * Slice activities scheduled and not started for a while although a worker polls: every worker's
   * slots are taken (WAYMARK_WORKER_SLICES). Read by the CLI from the pending activities; the
   * workflow cannot see it.
   */
  slicesWaitingForSlots?: number;
  /**
   * Set by clients only (src/cli/batch-progress.ts), never by the workflow: why the batch's
   * ledger cannot be reached, from its activities' last failures, while it cannot.
   */
  ledgerUnreachable?: string;
  /** Provider batch processors: the items in jobs at the provider and the jobs, while any is there. */
  provider?: ProviderProgress;
  /** Set only while fewer than `concurrency` lanes can run: how many can, and why. */
  lanesInUse?: number;
  lanesShortBecause?: string;
}

export interface BatchSummary extends BatchManifest {
  manifestPath: string;
}

export const progressQuery = defineQuery<BatchProgress>('progress');

export interface BatchBudget {
  unit: string;
  max: number;
}

/** Settings that may change on a running batch; each takes effect from the next slice. */
export interface BatchConfigChange {
  /** A number of lanes, or adaptive lanes between two bounds. */
  concurrency?: Concurrency;
  sliceSize?: number;
  /** A new maximum for the batch's budget (its unit stays); a batch paused by its budget goes on. */
  budget?: number;
}

/** The settings configure can change, as they stand after a change. */
export interface BatchConfig {
  concurrency: Concurrency;
  sliceSize: number;
  budget?: BatchBudget;
}

/** Stop launching slices; those in flight stop at an item boundary and resume on `resume`. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Validated against the whole spec; refused with a message naming the field when it would be invalid. */
export const configureUpdate = defineUpdate<BatchConfig, [BatchConfigChange]>('configure');
