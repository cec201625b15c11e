/**
 * Progress in committed items while slices run (INVARIANTS.md I12): the workflow reads the
 * ledger's counts as often as the cadence says (refresh-cadence.ts), and once the slices a pause
 * stopped have stopped. Only while there is news: no timer runs while nothing does. Within the
 * run's history budget (I2).
 */
import { condition, proxyLocalActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchTotalsResult } from '../contract/activity-io';
import { refreshActivityOptions } from './activity-options';
import { refreshFitsBudget } from './history-budget';
import { RefreshCadence } from './refresh-cadence';
import type { LanesFound } from './lanes-found';

const { batchTotals } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

/** What the refresh reads of the run, and tells it. */
export interface RefreshHost {
  readonly batchId: string;
  /** Runs with lanes in slices read at the batch's pace; those recorded before, every 25 s. */
  readonly lanesInSlices: boolean;
  readonly windowDone: boolean;
  /** Slice activities running now. */
  readonly slicesRunning: number;
  readonly slicesInFlight: number;
  /** A slice stopped by a pause since the last read: its commits reached no tally. */
  sliceStoppedUnread: boolean;
  /** Adaptive lanes: their pool is read with the counts. */
  readonly lanesFound: LanesFound;
  /** The counts the ledger answered. */
  tookLedgerCounts(counts: BatchTotalsResult): void;
}

export async function refreshWhileSlicesRun(host: RefreshHost): Promise<void> {
  const cadence = new RefreshCadence(host.lanesInSlices);
  const pauseSettled = () => host.sliceStoppedUnread && host.slicesRunning === 0;
  for (;;) {
    await condition(() => host.windowDone || host.slicesRunning > 0 || host.sliceStoppedUnread);
    if (host.windowDone) return;
    if (!pauseSettled()) {
      await condition(() => host.windowDone || pauseSettled(), cadence.interval());
      if (host.windowDone) return;
    }
    if (!refreshFitsBudget(host.slicesInFlight)) return;
    host.sliceStoppedUnread = false;
    let counts: BatchTotalsResult;
    try {
      const laneScope = host.lanesFound.scope;
      counts = await batchTotals({ batchId: host.batchId, ...(laneScope !== undefined ? { laneScope } : {}) });
    } catch {
      // The ledger did not answer: the counts stay as they were until the next refresh.
      continue;
    }
    cadence.observe(Date.now(), counts.succeeded + counts.failed);
    host.lanesFound.heard(counts.adaptive);
    host.tookLedgerCounts(counts);
  }
}
