/**
 * The checkpoint: all that crosses a continue-as-new. Cursor, counters and settings only, never
 * items (INVARIANTS.md I1), so a run's history stays bounded whatever the batch size (INVARIANTS.md I2).
 */
import type { SourcePosition } from './slices';
import type { Usage } from './usage';

/** What one workflow run hands the next at continue-as-new: cursor and counters, never items. */
export interface Checkpoint {
  cursor: SourcePosition;
  succeeded: number;
  failed: number;
  redone: number;
  failedByType?: Record<string, number>;
  /** Heartbeats the batch's finished slices recorded: the actions of its cost that no history holds. */
  heartbeats?: number;
  /** Workflow runs finished before this one. */
  runs: number;
  /** Epoch milliseconds of the first run's start. */
  startedAt: number;
  total?: number;
  /** A batch paused when its run ended stays paused in the next run. */
  paused?: boolean;
  /** The pause is the budget's (state budget-reached). */
  budgetReached?: boolean;
  /** The usage totals as last read from the ledger, so the next run shows them before its first read. */
  usage?: Usage;
  /** Whether the namespace has waymark's search attributes, as the first window found (absent: not asked). */
  searchAttributesRegistered?: boolean;
  /**
   * The generation of the batch's control in the ledger (src/workflows/slice-control.ts): it grows
   * across runs, so a pause written by an earlier run never stops this run's slices after a resume.
   */
  controlGeneration?: number;
  /** A condition the batch's notifications told and that no commit has ended yet: it is not told again. */
  notice?: 'budget-reached' | 'quota-wait' | 'stalled';
}
