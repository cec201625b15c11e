/**
 * Configure gave the batch more lanes (or, with lanes in slices, a new C) while slices of the
 * window were not launched yet: the unlaunched tail is cut again, so every lane gets work. Kept
 * apart from batch-run.ts, which reaches it only from configure.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchSpec } from '../contract/batch-spec';
import { bookkeepingActivityOptions } from './activity-options';
import type { Window } from './window';

const { planWindow } = proxyActivities<WaymarkActivities>(bookkeepingActivityOptions);

export interface RecutHost {
  readonly batchId: string;
  readonly spec: BatchSpec;
  /** C as lanes are planned on: the spec's, or an adaptive batch's most lanes. */
  readonly concurrency: number;
  readonly lanesInSlices: boolean;
  readonly replanRequested: boolean;
  readonly slicesInFlight: number;
  /** While the tail is being cut again, no lane launches. */
  recutting: boolean;
  roundOfSlices(): { laneShares?: number[] };
  spawnLanes(): void;
  publish(): void;
}

export function tailNeedsRecut(host: RecutHost, window: Window): boolean {
  const tail = window.unlaunchedTail();
  if (tail === undefined || host.recutting) return false;
  // Lanes in slices: the tail was cut for the lanes C had; cut again, its slices fit the new C.
  // Not when the window ends for a new slice size anyway.
  if (host.lanesInSlices) return !host.replanRequested;
  const freeLanes = host.concurrency - host.slicesInFlight;
  return tail.slices < Math.min(freeLanes, tail.items);
}

/**
 * Cuts the slices of the window that no lane launched yet again, for the concurrency as it
 * now stands (planWindow over their items only). Lanes wait for it: the old slices and the new
 * ones cover the same items, and a slice must never be launched from both cuts.
 */
export async function recutForLanes(host: RecutHost, window: Window): Promise<void> {
  const tail = window.unlaunchedTail()!;
  host.recutting = true;
  try {
    const { plan } = await planWindow({
      batchId: host.batchId,
      spec: host.spec,
      from: tail.from,
      maxItems: tail.items,
      countTotal: false,
      ...host.roundOfSlices(),
    });
    window.recutTail(tail.first, plan.slices);
  } catch {
    // The old cut still covers every item: the batch goes on with it.
  } finally {
    host.recutting = false;
  }
  host.spawnLanes();
  host.publish();
}
