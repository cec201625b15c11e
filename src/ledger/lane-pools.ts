/**
 * Lane pools (adaptive concurrency, src/contract/adaptive-concurrency.ts): the lanes the running
 * slices of one scope may run between them, kept in the ledger so that every slice of a batch, on
 * any worker, and every batch that names the same rate-limit key, share what they learn. A slice
 * reports twice a second and at once on a quota signal; each report is one transaction, which
 * moves the pool's lanes (lane-pool-state.ts) and answers with the slice's share of them.
 */
import type { AdaptiveLanesView } from '../contract/adaptive-concurrency';
import type { LaneGrant, LaneReport } from './lane-pool-state';

export type { LaneCut, LaneGrant, LaneReport } from './lane-pool-state';

/** A batch's lanes at a moment, as the manifest and the report chart them. */
export interface LaneSample {
  /** Epoch ms, the ledger's clock. */
  at: number;
  /** The lanes of the batch's running slices. */
  lanes: number;
  /** The lanes of its pool, every batch of the scope. */
  poolLanes: number;
  /** Set on the sample of a cut: its cause. */
  cutCause?: string;
}

/** A pool as status and the workflow show it for one of its batches. */
export type LaneView = AdaptiveLanesView;

export interface LanePools {
  /**
   * A running slice's report to the pool of `scope`; creates the pool at the batch's MIN. `now`
   * is for tests with a fake clock; by default the ledger's clock.
   */
  reportLanes(scope: string, report: LaneReport, now?: number): Promise<LaneGrant>;
  /** The pool of `scope` as `batchId` sees it; undefined before any slice of it reported. */
  laneView(scope: string, batchId: string): Promise<LaneView | undefined>;
  /** The batch's lanes over time, oldest first: a sample when they changed (at most one a second) and one at each cut. */
  laneSamples(batchId: string): Promise<LaneSample[]>;
}
