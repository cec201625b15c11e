/**
 * Timeouts, retries and cancellation of the workflow's activities.
 */
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { taskPriority, type BatchSpec } from '../contract/batch-spec';
import type { SliceBounds } from '../contract/slices';

/** planWindow and finalize: bounded work on the source and the ledger, not on items. */
export const bookkeepingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};

/**
 * batchTotals, a local activity: one ledger read. A failed read is skipped (the next refresh
 * tries again), so it is given a few quick attempts, not the bookkeeping's patience.
 */
export const refreshActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 3 },
};

export function sliceActivityOptions(spec: BatchSpec, slice: SliceBounds): ActivityOptions {
  const priority = taskPriority(spec);
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
    // Set on the slices themselves, so a batch started without it (`temporal workflow start`) has it too.
    ...(priority !== undefined ? { priority } : {}),
  };
}

/**
 * deliverNotification: one HTTP request of at most 15 s per attempt (webhook.ts), then retries
 * on the Standard Webhooks spec's pattern, 5 s, then 20 s, 80 s ... up to 2 h apart, for a day.
 * A receiver's Retry-After replaces the next interval. A worker that dies mid-send is noticed
 * when the attempt's start-to-close timeout passes.
 */
export const notifyActivityOptions: ActivityOptions = {
  startToCloseTimeout: '25 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 4, maximumInterval: '2 hours' },
};
