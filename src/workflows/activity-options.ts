/**
 * Timeouts, retries and cancellation of the workflow's activities.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { BatchSpec } from '../contract/batch-spec';
import type { SliceBounds } from '../contract/slices';

/** planWindow and finalize: bounded work on the source and the ledger, not on items. */
export const bookkeepingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};

export function sliceActivityOptions(spec: BatchSpec, slice: SliceBounds): ActivityOptions {
  return {
    summary: `items ${slice.start}-${slice.start + slice.count - 1}`,
    heartbeatTimeout: spec.heartbeatTimeoutMs,
    // The heartbeat timeout is what notices a dead worker; this only bounds a slice that is
    // alive but stuck, generously: every item may use all its attempts and backoffs.
    startToCloseTimeout: spec.sliceSize * spec.itemAttempts * (spec.itemTimeoutMs + spec.itemBackoffMaxMs) + 10 * 60_000,
    // A stopped or paused batch waits until its slices have really stopped at an item
    // boundary, so the counts it then reports are final.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  };
}
