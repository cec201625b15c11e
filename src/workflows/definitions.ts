/**
 * The workflow's public surface: its name, query and the shapes a client reads.
 * Safe to import from client code (no workflow-only APIs run at import time).
 */
import { defineQuery } from '@temporalio/workflow';
import type { SourcePosition } from '../sources/source';
import type { BatchManifest } from '../activities/contracts';

export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

export type BatchState = 'planning' | 'running' | 'waiting-for-quota' | 'stopping' | 'finalizing' | 'completed' | 'failed-tolerance';

/** What one workflow run hands the next at continue-as-new: cursor and counters, never items. */
export interface Checkpoint {
  cursor: SourcePosition;
  succeeded: number;
  failed: number;
  redone: number;
  /** Workflow runs finished before this one. */
  runs: number;
  /** Epoch milliseconds of the first run's start. */
  startedAt: number;
  total?: number;
}

export interface BatchProgress {
  state: BatchState;
  /** Items in the source, once counted. */
  total?: number;
  succeeded: number;
  failed: number;
  redone: number;
  /** Every item before this index has a committed outcome. */
  cursor: number;
  /** Workflow runs so far, this one included. */
  runs: number;
  slicesInFlight: number;
  resumeCostBound: number;
  /** While waiting for quota: epoch milliseconds when work resumes. */
  quotaUntil?: number;
  startedAt: number;
}

export interface BatchSummary extends BatchManifest {
  manifestPath: string;
}

export const progressQuery = defineQuery<BatchProgress>('progress');
