/**
 * Provider jobs as people read them, in status, `--wait` and the Web UI: items done, at the
 * provider (with the jobs' ids and states) and waiting to be sent. Pure, so the workflow can call it.
 */
import type { BatchProgress } from '../contract/messages';

/** `18,000 at the provider in 4 jobs, 2,000 waiting to be sent`, or undefined when nothing is at a provider. */
export function providerSummary(p: Pick<BatchProgress, 'provider' | 'total' | 'succeeded' | 'failed'>): string | undefined {
  const provider = p.provider;
  if (provider === undefined) return undefined;
  const n = (x: number) => x.toLocaleString('en-US');
  const jobs = `${provider.jobCount} job${provider.jobCount === 1 ? '' : 's'}`;
  const waiting = p.total === undefined ? undefined : Math.max(0, p.total - p.succeeded - p.failed - provider.atProvider);
  return `${n(provider.atProvider)} at the provider in ${jobs}${waiting === undefined ? '' : `, ${n(waiting)} waiting to be sent`}`;
}

/** The jobs by id and state: `batch_abc in_progress (5,000), msgbatch_x ended (2,000)`, and how many more. */
export function providerJobsLine(p: Pick<BatchProgress, 'provider'>): string | undefined {
  const provider = p.provider;
  if (provider === undefined || provider.jobs.length === 0) return undefined;
  const shown = provider.jobs.map((job) => `${job.id} ${job.status} (${job.items.toLocaleString('en-US')})`).join(', ');
  const more = provider.jobCount - provider.jobs.length;
  return more > 0 ? `${shown} and ${more} more` : shown;
}
