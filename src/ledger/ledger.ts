/**
 * The ledger: the durable, per-item record of outcomes, keyed by (batch id, item index).
 * It is the source of truth for what is done; workflow counters and cursors only follow it.
 * Activities see this interface only, so another store (PostgreSQL) can stand behind it.
 *
 * One interface per concern, each in the file named for it; `Ledger` is all of them on one store.
 */
import type { OutcomeStore } from './outcome-store';
import type { SliceOwnership } from './slice-ownership';
import type { Interruptions } from './interruptions';
import type { SuspectLease } from './suspect-lease';
import type { BatchRecords } from './batch-records';
import type { RedriveMerge } from './redrive-merge';
import type { RateLimits } from './rate-limits';
import type { SliceControl } from './slice-control';
import type { LanePools } from './lane-pools';
import type { ProviderJobs } from './provider-jobs';

export type { ItemStatus, ItemOutcome, StoredOutcome, OutcomeToCommit, OutcomeStore, OutcomeTimes } from './outcome-store';
export { LeaseLostError, inFlightRange, type InFlight, type InterruptedItem, type SliceOwnership } from './slice-ownership';
export type { BatchControl, BatchControlState, SliceControl, SliceControlState } from './slice-control';
export type { Interruptions } from './interruptions';
export type { SuspectLease } from './suspect-lease';
export type { BatchClaim, BatchRecord, BatchRecords } from './batch-records';
export type { RedriveMerge } from './redrive-merge';
export type { RateLimitRate, RateLimitState, RateLimits, TokenTake } from './rate-limits';
export type { LaneCut, LaneGrant, LanePools, LaneReport, LaneSample, LaneView } from './lane-pools';
export type { ProviderJob, ProviderJobChange, ProviderJobs, NewProviderJob } from './provider-jobs';

export interface Ledger
  extends
    OutcomeStore,
    SliceOwnership,
    SliceControl,
    Interruptions,
    SuspectLease,
    BatchRecords,
    RedriveMerge,
    RateLimits,
    LanePools,
    ProviderJobs {
  close(): Promise<void>;
}
