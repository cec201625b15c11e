/**
 * A budget on the dev server, as a user meets it: an http batch whose API reports tokens in its
 * answers (usagePointer) runs until its committed items have used the budget, then pauses with
 * state "budget reached" in `waymark status`, the Web UI's current details and WaymarkStatus;
 * `waymark configure BATCH --budget N` raises it and the batch completes. Nothing is lost or done
 * twice, and the overshoot stays within the items in flight (the resume-cost bound, C x k).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { progressQuery, resumeSignal } from '../../src/contract/messages';
import { resumeCostBound } from '../../src/contract/batch-spec';
import { startQuotaApi, type QuotaApi } from '../../tools/support/quota-api-server';
import { devServerSuite } from '../helpers/dev-server-suite';
import { allOutcomes } from '../helpers/ledger-rows';
import { waitFor } from '../helpers/wait-for';
import { runCli } from '../cli/run-cli';

const TASK_QUEUE = 'budget-batch';
const BATCH = 'budget-batch';
const ITEMS = 60;
/** Each item's id is 4 characters, and the API's answer uses one token per character. */
const TOKENS_PER_ITEM = 4;
const BUDGET = 100;

describe('a batch with a budget', () => {
  let api: QuotaApi;
  const suite = devServerSuite('waymark-budget-', { beforeTeardown: () => api?.close() });

  beforeAll(async () => {
    api = await startQuotaApi();
  });

  it('pauses with "budget reached" once its items used the budget, and goes on to completion when configure raises it', async () => {
    const file = path.join(suite.dir, 'items.jsonl');
    const ids = Array.from({ length: ITEMS }, (_, i) => `u${String(i).padStart(3, '0')}`);
    fs.writeFileSync(file, ids.map((id) => JSON.stringify({ id })).join('\n') + '\n');
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'http', options: { url: `${api.url}/enrich/{id}`, resultPointer: '/score', usagePointer: '/usage/tokens' } },
      sliceSize: 10,
      checkpointEvery: ITEMS,
      concurrency: 2,
      budget: { unit: 'tokens', max: BUDGET },
    });
    const inFlight = resumeCostBound(spec);
    const waymark = (...args: string[]) => runCli(args, { cwd: suite.dir, env: { TEMPORAL_ADDRESS: suite.env.address } });

    const worker = await suite.worker(TASK_QUEUE);
    await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, spec, BATCH, TASK_QUEUE);
      await waitFor('the batch to pause for its budget, with no slice in flight', async () => {
        const p = await handle.query(progressQuery);
        return p.state === 'budget-reached' && p.slicesInFlight === 0 && p.usage !== undefined;
      });

      // Paused: no item runs, every item that ran is committed, and the overshoot is within the items in flight.
      const used = (await suite.ledger.usageTotals(BATCH)).tokens;
      const committed = await allOutcomes(suite.ledger, BATCH);
      expect(used).toBeGreaterThanOrEqual(BUDGET);
      expect(used).toBeLessThan(BUDGET + inFlight * TOKENS_PER_ITEM);
      expect(committed.length * TOKENS_PER_ITEM).toBe(used);
      expect(api.requests).toHaveLength(committed.length);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(api.requests).toHaveLength(committed.length);

      // Visible everywhere state is: the query, `waymark status`, the Web UI's details, WaymarkStatus.
      const progress = await handle.query(progressQuery);
      expect(progress).toMatchObject({ budget: { unit: 'tokens', max: BUDGET }, usage: { tokens: used } });
      const status = await waymark('status', BATCH);
      expect(status.stdout).toContain(`state     budget reached (tokens ${used} of ${BUDGET})\n`);
      expect(status.stdout).toContain(`usage     tokens ${used}\n`);
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain(`**budget reached (tokens ${used} of ${BUDGET})**`);
      if (used > BUDGET) expect(metadata.currentDetails).toContain(`${used - BUDGET} over: items in flight when it was reached`);
      const described = await handle.describe();
      expect(described.searchAttributes.WaymarkStatus).toEqual(['budget-reached']);

      // A plain resume does not raise the budget: the slices start again, find it reached before
      // their first item, and the batch pauses again at once, running no item.
      const slicesScheduled = async () =>
        (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'processSlice')
          .length;
      const scheduledBefore = await slicesScheduled();
      await handle.signal(resumeSignal);
      await waitFor('the resumed slices to stop again', async () => {
        const p = await handle.query(progressQuery);
        return (await slicesScheduled()) > scheduledBefore && p.state === 'budget-reached' && p.slicesInFlight === 0;
      });
      expect(api.requests).toHaveLength(committed.length);

      // Raised: the batch goes on from where it paused and completes.
      const configured = await waymark('configure', BATCH, '--budget', '1000');
      expect(configured).toMatchObject({ code: 0, stdout: `${BATCH}: concurrency 2, slice size 10, budget 1000 tokens\n` });
      const summary = await handle.result();
      expect(summary).toMatchObject({
        status: 'completed',
        succeeded: ITEMS,
        failed: 0,
        pending: 0,
        redone: 0,
        usage: { tokens: ITEMS * TOKENS_PER_ITEM },
      });
    });

    // Nothing lost, nothing done twice: one outcome per item and one request per item.
    const rows = await allOutcomes(suite.ledger, BATCH);
    expect(rows.map((r) => [r.index, r.status, r.usage])).toEqual(ids.map((_, i) => [i, 'succeeded', { tokens: TOKENS_PER_ITEM }]));
    expect(api.requests.map((r) => r.idempotencyKey).sort()).toEqual(ids.map((_, i) => `${BATCH}:${i}`).sort());
  });
});
