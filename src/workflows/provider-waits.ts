/**
 * The workflow's side of provider batch processors (src/activities/provider-slice.ts): a slice
 * whose items are in jobs at the provider returns `at-provider`, and its lane waits on a durable
 * timer for the next poll, then runs the slice again. No activity is held open and nothing
 * heartbeats while a job runs for hours: a poll costs a timer and a short activity, and the
 * refresh of committed counts (ledger-refresh.ts) does not run for these polls, whose results
 * carry the slice's counts themselves. A cancelled or stopped batch wakes its waiting slices at
 * once, to cancel their jobs. Only batches of provider batch processors ever take this path, so
 * runs recorded before it replay unchanged.
 */
import { CancellationScope, condition } from '@temporalio/workflow';
import type { ProviderJobsMode } from '../contract/activity-io';
import { MAX_JOBS_SHOWN, type ProviderProgress, type ProviderSliceView } from '../contract/provider-jobs';
import type { WindowSlice } from './window';

export class ProviderWaits {
  /** The slices with items at the provider, as their last pass saw them, in launch order. */
  private readonly slices = new Map<WindowSlice, ProviderSliceView>();
  /** Polls running now: slice activities of slices at the provider. */
  polling = 0;

  /** Whether any slice has items at the provider: lanes are not lent to slices that only wait. */
  get any(): boolean {
    return this.slices.size > 0;
  }

  took(slice: WindowSlice, view: ProviderSliceView): void {
    this.slices.set(slice, view);
  }

  /** The slice ended (done, stopped, failed): nothing of it is at the provider any more. */
  forget(slice: WindowSlice): void {
    this.slices.delete(slice);
  }

  /**
   * The slice activity's input for a slice at the provider: its next pass sends its waiting items,
   * only collects (paused), or cancels its jobs (cancelled, stopped). Other slices run as any does.
   */
  input(slice: WindowSlice, run: { paused: boolean; stopping: boolean }): { providerJobs?: ProviderJobsMode } {
    if (!this.slices.has(slice)) return {};
    return { providerJobs: run.stopping ? 'cancel' : run.paused ? 'collect' : 'submit' };
  }

  /** Runs a slice's pass, counted among the polls while the slice is at the provider. */
  async counting<T>(slice: WindowSlice, pass: () => Promise<T>): Promise<T> {
    if (!this.slices.has(slice)) return pass();
    this.polling++;
    try {
      return await pass();
    } finally {
      this.polling--;
    }
  }

  /**
   * Waits for the slice's next poll on a durable timer. Not cancellable: a cancelled batch's
   * slices still cancel their jobs and collect what they finished; `wake` ends the wait early.
   */
  async wait(ms: number, wake: () => boolean): Promise<void> {
    await CancellationScope.nonCancellable(() => condition(wake, ms));
  }

  progress(): { provider?: ProviderProgress } {
    if (this.slices.size === 0) return {};
    const views = [...this.slices.values()];
    // A job cut for an earlier window may hold items of two slices: shown once.
    const jobs = [...new Map(views.flatMap((v) => v.jobs).map((job) => [job.id, job])).values()];
    return {
      provider: {
        atProvider: views.reduce((sum, v) => sum + v.atProvider, 0),
        jobs: jobs.slice(0, MAX_JOBS_SHOWN),
        jobCount: jobs.length,
      },
    };
  }
}
