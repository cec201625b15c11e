/**
 * The pattern of Temporal's batch samples (samples-typescript batch/iterator, in its activity
 * variant): read a page of records in an activity, start one activity per record, wait for the
 * whole page, continue-as-new for the next page. Each record travels through history as an
 * activity input, and each outcome is an activity completion event: history is the ledger.
 */
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { PerItemActivities } from './activities';
import type { PerItemBatchInput, PerItemTotals } from './contracts';

const { readPage } = proxyActivities<PerItemActivities>({ startToCloseTimeout: '1 minute' });
const { processRecord } = proxyActivities<PerItemActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

export async function perItemBatch(input: PerItemBatchInput, before?: PerItemTotals): Promise<PerItemTotals> {
  const page = await readPage(input.path, input.offset, input.pageSize);
  const outcomes = await Promise.allSettled(page.items.map((item) => processRecord(input.processor, input.options ?? {}, item)));
  const totals: PerItemTotals = {
    processed: (before?.processed ?? 0) + outcomes.length,
    failed: (before?.failed ?? 0) + outcomes.filter((o) => o.status === 'rejected').length,
    runs: (before?.runs ?? 0) + 1,
  };
  if (page.exhausted) return totals;
  return continueAsNew<typeof perItemBatch>({ ...input, offset: page.nextOffset }, totals);
}

/** Runs the heartbeat probe in a real activity, so the cost measured is that of a worker's Context.heartbeat. */
export async function heartbeatProbeWorkflow(calls: number): Promise<number> {
  const { heartbeatProbe } = proxyActivities<PerItemActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds' });
  return heartbeatProbe(calls);
}
