/**
 * Records the replay fixtures in test/replay/histories: `npm run record-histories`. It records
 * the scenarios that have no fixture yet, so a new scenario is recorded with the code of its day
 * and the older fixtures stay what runs of older code left; delete a scenario's fixtures to record
 * it again, only for a deliberate, compatible change of their shape. A workflow change that breaks
 * replay of these histories needs `patched()` instead (see replay.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv } from '../helpers/temporal-env';
import { SCENARIOS, fakeActivities, scenarioSpec } from './scenarios';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const OUT = path.join(__dirname, 'histories');

it('records one history per workflow run of every scenario', async () => {
  const env = await createTimeSkippingEnv();
  try {
    const workflowBundle = await bundleWaymarkWorkflows();
    const recorded = new Set(fs.readdirSync(OUT));
    for (const scenario of SCENARIOS.filter((s) => !recorded.has(`${s.name}.run-1.json`))) {
      const { activities, release } = fakeActivities(scenario.items, scenario.fake);
      const taskQueue = `record-${scenario.name}`;
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start('batchWorkflow', {
          taskQueue,
          workflowId: scenario.name,
          args: [scenarioSpec(scenario)],
        });
        await scenario.drive(handle, release, env.client);
        // Walk the chain of runs back from the last one.
        let runId: string | undefined = (await handle.describe()).runId;
        const runs: string[] = [];
        while (runId) {
          const history = await env.client.workflow.getHandle(scenario.name, runId).fetchHistory();
          runs.unshift(
            JSON.stringify(
              temporal.api.history.v1.History.toObject(history as temporal.api.history.v1.History, {
                longs: String,
                enums: String,
                bytes: String,
              }),
              null,
              1,
            ),
          );
          runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
        }
        runs.forEach((json, i) => fs.writeFileSync(path.join(OUT, `${scenario.name}.run-${i + 1}.json`), `${json}\n`));
      });
    }
  } finally {
    await env.teardown();
  }
});
