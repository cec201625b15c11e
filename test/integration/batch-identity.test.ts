/**
 * I11 on the dev server, from the side of a batch that must NOT be refused: the ledger claims a
 * batch id for the workflow chain that first ran it (its firstExecutionRunId), and every later
 * run of that same batch (continue-as-new, a workflow retry, a reset) is accepted as that batch.
 * A new workflow under a finished batch's id is refused: see test/cli/temporal-cli-start.test.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { BatchSummary } from '../../src/contract/messages';
import type { BatchClaim } from '../../src/ledger/ledger';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { createDevServerEnv } from '../helpers/temporal-env';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const TASK_QUEUE = 'batch-identity';

describe('a batch keeps its id across its own runs (I11)', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;
  let dir: string;
  let ledger: SqliteLedger;
  let worker: Worker;
  let running: Promise<void>;
  let file: string;
  /** Every claim the ledger answered, in order. */
  const claims: { batchId: string; identity: string; claim: BatchClaim }[] = [];
  /** Batches whose finalize fails once, after writing the manifest. */
  const failFinalizeOnce = new Set<string>();

  beforeAll(async () => {
    env = await createDevServerEnv();
    workflowBundle = await bundleWaymarkWorkflows();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-identity-'));
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
    const claimBatch = ledger.claimBatch.bind(ledger);
    ledger.claimBatch = async (batchId, identity, spec) => {
      const claim = await claimBatch(batchId, identity, spec);
      claims.push({ batchId, identity, claim });
      return claim;
    };
    file = path.join(dir, 'words.txt');
    fs.writeFileSync(file, Array.from({ length: 40 }, (_, i) => `word-${i}`).join('\n'));
    const activities = createActivities({ ledger, dataDir: dir });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle,
      activities: {
        ...activities,
        finalize: async (input: Parameters<typeof activities.finalize>[0]) => {
          const result = await activities.finalize(input);
          if (failFinalizeOnce.delete(input.batchId))
            throw ApplicationFailure.nonRetryable('finalize fails once, after the manifest is written', 'FailOnce');
          return result;
        },
      },
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await ledger?.close();
    await env?.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const spec = (checkpointEvery: number) => ({
    source: { kind: 'text', path: file },
    processor: { name: 'sha256' },
    sliceSize: 5,
    checkpointEvery,
  });
  const claimsOf = (batchId: string) => claims.filter((c) => c.batchId === batchId);
  const startedEvent = async (workflowId: string, runId: string) => {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    return history.events![0].workflowExecutionStartedEventAttributes!;
  };

  it('continue-as-new: a batch of four runs is claimed once, by its first run, and nothing is refused', async () => {
    const handle = await env.client.workflow.start('batchWorkflow', { workflowId: 'four-runs', taskQueue: TASK_QUEUE, args: [spec(10)] });
    const summary = (await handle.result()) as BatchSummary;
    expect(summary).toMatchObject({ status: 'completed', runs: 4, total: 40, succeeded: 40, failed: 0 });

    const last = await env.client.workflow.getHandle('four-runs').describe();
    expect(last.runId).not.toBe(handle.firstExecutionRunId);
    // Observed: every run after continue-as-new has the first run's id as firstExecutionRunId.
    expect((await startedEvent('four-runs', last.runId)).firstExecutionRunId).toBe(handle.firstExecutionRunId);
    expect(claimsOf('four-runs')).toEqual([{ batchId: 'four-runs', identity: handle.firstExecutionRunId, claim: { claimed: true } }]);
    expect(await ledger.batch('four-runs')).toMatchObject({
      identity: handle.firstExecutionRunId,
      manifest: { status: 'completed', succeeded: 40 },
    });
  });

  it('a workflow retry after the manifest was written is the same batch: claimed again and completed', async () => {
    failFinalizeOnce.add('retried');
    const handle = await env.client.workflow.start('batchWorkflow', {
      workflowId: 'retried',
      taskQueue: TASK_QUEUE,
      args: [spec(40)],
      retry: { maximumAttempts: 2, initialInterval: '1 second' },
    });
    const summary = (await handle.result()) as BatchSummary;
    expect(failFinalizeOnce.has('retried')).toBe(false);
    expect(summary).toMatchObject({ status: 'completed', runs: 1, total: 40, succeeded: 40, failed: 0 });

    const retry = await env.client.workflow.getHandle('retried').describe();
    expect(retry.runId).not.toBe(handle.firstExecutionRunId);
    const started = await startedEvent('retried', retry.runId);
    // Observed: the retry is attempt 2 of the same chain, with the same firstExecutionRunId.
    expect(started.attempt).toBe(2);
    expect(started.firstExecutionRunId).toBe(handle.firstExecutionRunId);
    // Both runs claimed the id with that identity, the second over a record that had a manifest.
    expect(claimsOf('retried')).toEqual([
      { batchId: 'retried', identity: handle.firstExecutionRunId, claim: { claimed: true } },
      { batchId: 'retried', identity: handle.firstExecutionRunId, claim: { claimed: true } },
    ]);
  });

  it('a reset, after planWindow or before it, is the same batch: accepted and completed', async () => {
    const handle = await env.client.workflow.start('batchWorkflow', { workflowId: 'reset', taskQueue: TASK_QUEUE, args: [spec(40)] });
    expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 40 });
    const { events } = await handle.fetchHistory();
    const planned = events!.findIndex((e) => e.activityTaskCompletedEventAttributes);
    const afterPlan = events!.slice(planned).find((e) => e.workflowTaskCompletedEventAttributes)!;
    const beforePlan = events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
    expect(Number(beforePlan.eventId)).toBeLessThan(Number(afterPlan.eventId));

    const reset = async (runId: string, event: temporal.api.history.v1.IHistoryEvent) => {
      const { runId: newRunId } = await env.client.workflowService.resetWorkflowExecution({
        namespace: env.client.options.namespace,
        workflowExecution: { workflowId: 'reset', runId },
        reason: 'test: a reset is not a reuse',
        workflowTaskFinishEventId: event.eventId,
        requestId: crypto.randomUUID(),
      });
      return newRunId;
    };

    // To the workflow task completed after planWindow: the reset run goes on from there.
    const first = await reset(handle.firstExecutionRunId, afterPlan);
    expect(await env.client.workflow.getHandle('reset', first).result()).toMatchObject({ status: 'completed', succeeded: 40, failed: 0 });
    // To the first workflow task completed: the reset run plans its first window again, claiming the id.
    const second = await reset(first, beforePlan);
    expect(await env.client.workflow.getHandle('reset', second).result()).toMatchObject({ status: 'completed', succeeded: 40, failed: 0 });

    // Observed: a reset run keeps the firstExecutionRunId of the run it reset.
    for (const runId of [first, second]) {
      expect(runId).not.toBe(handle.firstExecutionRunId);
      expect((await startedEvent('reset', runId)).firstExecutionRunId).toBe(handle.firstExecutionRunId);
    }
    expect(claimsOf('reset')).toEqual([
      { batchId: 'reset', identity: handle.firstExecutionRunId, claim: { claimed: true } },
      { batchId: 'reset', identity: handle.firstExecutionRunId, claim: { claimed: true } },
    ]);
    expect(await ledger.batch('reset')).toMatchObject({
      identity: handle.firstExecutionRunId,
      manifest: { status: 'completed', succeeded: 40 },
    });
  });
});
