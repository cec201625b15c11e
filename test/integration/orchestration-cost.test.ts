/**
 * A batch's own count of its Temporal Cloud actions (INVARIANTS.md I15), in its manifest and in
 * `waymark status`, checked against what the server itself counted in its `action` metric while
 * nothing else ran on it: every type the histories hold is exact, and the heartbeats the slices
 * counted are those the server recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { batchOrchestrationCost } from '../../src/telemetry/orchestration-cost';
import { findFreePort } from '../../tools/support/free-port';
import { devServerSuite } from '../helpers/dev-server-suite';
import { createDevServerEnv } from '../helpers/temporal-env';

let metricsUrl: string;

/** The server's actions by type in the default namespace, as bench/actions.ts reads them. */
async function serverActions(): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^action\{([^}]*)\} (\S+)$/gm)) {
    if (!m[1].includes('namespace="default"')) continue;
    const type = /action_type="(?:command_|grpc_)?([^"]+)"/.exec(m[1])![1];
    out[type] = (out[type] ?? 0) + Number(m[2]);
  }
  return out;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).flatMap(([type, n]) => (n > (before[type] ?? 0) ? [[type, n - (before[type] ?? 0)]] : [])),
  );
}

describe('orchestration cost', () => {
  const suite = devServerSuite('waymark-actions-', {
    createEnv: async () => {
      const port = await findFreePort();
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
      return createDevServerEnv({ server: { extraArgs: ['--metrics-port', String(port)] } });
    },
  });

  it('counts what the server counts: the manifest and status give the batch its own figure', async () => {
    const file = path.join(suite.dir, 'items.jsonl');
    fs.writeFileSync(file, Array.from({ length: 600 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    // Slices of 2.5 s at a heartbeat timeout of 2 s: each heartbeats, and two continue-as-new.
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'sleep', options: { ms: 200 } },
      sliceSize: 100,
      checkpointEvery: 200,
      concurrency: 16,
      heartbeatTimeoutMs: 2000,
    });
    const worker = await suite.worker('actions');
    const before = await serverActions();
    const summary = await worker.runUntil(async () => (await startBatch(suite.env.client, spec, 'actions-600', 'actions')).result());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const counted = difference(await serverActions(), before);

    expect(summary).toMatchObject({ succeeded: 600, runs: 3 });
    expect(counted.RecordActivityTaskHeartbeat).toBeGreaterThan(0);
    expect(summary.actions).toBeDefined();
    // The manifest is written before the batch's last search attribute upsert (its final state).
    expect(summary.actions!.byType).toEqual({ ...counted, UpsertWorkflowSearchAttributes: counted.UpsertWorkflowSearchAttributes - 1 });
    expect(summary.actions!.per1000Items).toBeCloseTo((summary.actions!.total / 600) * 1000, 1);

    // Read afterwards, the histories hold all of it.
    const after = await batchOrchestrationCost(suite.env.client, 'actions-600', counted.RecordActivityTaskHeartbeat, 600);
    expect(after.byType).toEqual(counted);
  });
});
