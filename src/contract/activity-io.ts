/**
 * Inputs and outputs of waymark's activities. Only types live here, so workflow code can
 * import them without pulling activity code into the workflow bundle.
 * Everything here travels through workflow history: cursors, offsets, counts, never item data (INVARIANTS.md I1).
 */
import type { BatchSpec } from './batch-spec';
import type { CommittedCounts, SliceBounds, SliceTally, SourcePosition, WindowPlan } from './slices';
import type { Usage } from './usage';
import type { OrchestrationCost } from '../telemetry/orchestration-cost';
import type { AdaptiveLanesView, LaneCut, LaneRange } from './adaptive-concurrency';
import type { LaneSample } from '../ledger/lane-pools';
import type { ProviderSliceView } from './provider-jobs';

export interface PlanWindowInput {
  batchId: string;
  spec: BatchSpec;
  from: SourcePosition;
  maxItems: number;
  /** Count the source's items (done once per batch, on the first window). */
  countTotal: boolean;
  /**
   * On the first window: the batch's identity, its workflow's firstExecutionRunId, which the
   * ledger's batch record must hold or take (I11). Absent from workflows older than the patch.
   */
  identity?: string;
  /** Ask the server whether the namespace has waymark's search attributes. */
  askSearchAttributes?: boolean;
  /**
   * The lanes of each slice of a round when every lane has work (src/contract/lanes.ts): the
   * window is cut into rounds of these slices, each with items in proportion to its lanes. Absent
   * from workflows older than lanes in slices, whose slices ran one item each: rounds of C.
   */
  laneShares?: number[];
}

export interface PlanWindowResult {
  plan: WindowPlan;
  total?: number;
  /** The answer to askSearchAttributes. */
  searchAttributesRegistered?: boolean;
}

export interface ProcessSliceInput {
  batchId: string;
  spec: BatchSpec;
  slice: SliceBounds;
  /**
   * Items the slice runs at once (INVARIANTS.md I15); the ledger may give it more or fewer while
   * it runs. Absent from workflows older than lanes in slices: one at a time.
   */
  lanes?: number;
  /**
   * The generation of the batch's control when the slice was launched: a pause or stop written
   * to the ledger at or past it stops the slice (src/ledger/slice-control.ts).
   */
  controlGeneration?: number;
  /**
   * Provider batch processors only (src/activities/provider-slice.ts), set by the workflow once the
   * slice has jobs at the provider: `submit` sends its waiting items, `collect` (paused) only polls
   * and collects the jobs there, `cancel` (cancelled or stopped) cancels them and collects what
   * they finished. Absent: submit.
   */
  providerJobs?: ProviderJobsMode;
}

export type ProviderJobsMode = 'submit' | 'collect' | 'cancel';

/**
 * What a slice ended with; with adaptive lanes, `adaptive` is its pool's lanes as it last heard
 * (absent from batches with a fixed concurrency, and from workers older than adaptive lanes).
 */
export type ProcessSliceResult = SliceEnding & { adaptive?: AdaptiveLanesView };

type SliceEnding =
  | { outcome: 'done'; tally: SliceTally }
  /**
   * The processor ran out of quota, or the batch's named rate limit has no token for longer than
   * the heartbeat timeout: the slice stopped cleanly before `nextIndex`; run it again after the
   * wait. `pacedOn`: the rate limit's key that paces it; `heldOn`: the key a quota signal holds
   * (absent from batches without a rate limit, and from workers older than it). With
   * `budgetReached`, it was the batch's budget instead: the workflow pauses.
   */
  | {
      outcome: 'quota';
      tally: SliceTally;
      retryAfterMs: number;
      nextIndex: number;
      pacedOn?: string;
      heldOn?: string;
      budgetReached?: true;
    }
  /**
   * Split for idle lanes, by the slices of workflows older than lanes in slices (requestSplit):
   * the attempt started nothing at or past `rest[0].start`; `tally` counts the slice up to there,
   * and `rest`, cut for the lanes, covers the rest of it.
   */
  | { outcome: 'split'; tally: SliceTally; rest: SliceBounds[] }
  /**
   * The workflow's control in the ledger paused or stopped the batch: the slice stopped its items
   * (those cut short are redone when it runs again) and committed what finished.
   */
  | { outcome: 'stopped'; tally: SliceTally; reason: 'pause' | 'stop' }
  /**
   * Provider batch processors: the slice's items are in jobs at the provider, which may take
   * hours. No activity waits for them: the workflow sleeps `pollInMs` on a durable timer, then
   * runs the slice again, which polls the jobs and collects those that ended. `tally` counts what
   * is committed so far.
   */
  | { outcome: 'at-provider'; tally: SliceTally; pollInMs: number; provider: ProviderSliceView };

export interface RequestSplitInput {
  batchId: string;
  /**
   * The slices in flight, when (workflow time) each was launched, to tell their pace, and the
   * lanes each has: 1, or as many as a split already asked of it and not yet answered will feed.
   */
  slices: (SliceBounds & { launchedAt: number; lanes: number })[];
  /** Lanes with nothing to run and promised to no split: the new slices' lanes. */
  freeLanes: number;
}

export interface RequestSplitResult {
  /**
   * The slices asked to split (by first index), into how many slices each, all lanes they
   * now have counted; none when no slice has enough left.
   */
  asked: { sliceStart: number; pieces: number }[];
}

/** Writes the batch's control to the ledger for its running slices to read (slice-control.ts). */
export interface ControlSlicesInput {
  batchId: string;
  state: 'run' | 'pause' | 'stop';
  generation: number;
}

export interface LendLanesInput {
  batchId: string;
  /** The running slices, the lanes each has and when (workflow time) it was launched. */
  slices: (SliceBounds & { lanes: number })[];
  /** Lanes no slice holds, with nothing left to launch: lent to the running slices with most work left. */
  freeLanes: number;
  /** The control generation the lending is written at: a slice launched at or after it keeps its own lanes. */
  generation: number;
}

export interface LendLanesResult {
  /** The slices given lanes, by first index, with all the lanes each now has. */
  lent: { sliceStart: number; lanes: number }[];
}

export type BatchStatus = 'completed' | 'failed-tolerance' | 'cancelled';

export interface BatchManifest {
  batchId: string;
  status: BatchStatus;
  total: number;
  succeeded: number;
  failed: number;
  /** Items with no outcome: only a batch that stopped early has any. */
  pending: number;
  /** The pending items as [first, last] index ranges, inclusive. */
  pendingRanges: [number, number][];
  /** Why the batch stopped early, for status failed-tolerance. */
  stopReason?: string;
  /** For a redrive: the batch whose failed and pending items it re-ran. */
  redriveOf?: string;
  /** Redrives whose outcomes were merged into this batch, oldest first. */
  redrives?: string[];
  redone: number;
  /** What the batch's committed items used, summed per unit; absent when no item reported usage. */
  usage?: Usage;
  runs: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  itemsPerSecond: number;
  resumeCostBound: number;
  /**
   * The Temporal Cloud actions the batch took until its manifest was written, by type and per
   * 1,000 items (src/telemetry/orchestration-cost.ts); absent when its history could not be read.
   */
  actions?: OrchestrationCost;
  /** Adaptive lanes (`concurrency: auto`): their bounds, their cuts and the batch's lanes over time. */
  lanes?: ManifestLanes;
  source: { kind: string; path: string };
  processor: string;
  sliceSize: number;
  checkpointEvery: number;
  concurrency: number;
  commitGroup: number;
}

/** Adaptive lanes over a batch's life, as its manifest records them. */
export interface ManifestLanes extends LaneRange {
  cuts: number;
  lastCut?: LaneCut;
  /**
   * The batch's lanes over time, oldest first (a sample when they changed, at most one a second,
   * and one at each cut); evenly thinned to 600 in a long batch (finalize.ts).
   */
  samples: LaneSample[];
}

export interface BatchTotalsInput {
  batchId: string;
  /** A batch with adaptive lanes: their pool (laneScope), read with the counts. */
  laneScope?: string;
}

/**
 * The ledger's committed counts, and its usage per unit when any item reported some; with
 * `laneScope`, the pool's lanes once a slice has reported to it.
 */
export interface BatchTotalsResult extends CommittedCounts {
  usage?: Usage;
  adaptive?: AdaptiveLanesView;
}

export interface FinalizeInput {
  batchId: string;
  spec: BatchSpec;
  status: BatchStatus;
  stopReason?: string;
  /** Items in the source, as counted on the first window. */
  total?: number;
  runs: number;
  startedAt: number;
  finishedAt: number;
  /** Heartbeats the batch's slices recorded, for its orchestration cost. */
  heartbeats?: number;
}

export interface FinalizeResult {
  manifest: BatchManifest;
  manifestPath: string;
}
