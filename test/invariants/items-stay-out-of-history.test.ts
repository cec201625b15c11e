/**
 * I1 (INVARIANTS.md): item payloads, results and failure messages never enter Temporal history.
 * A batch over items that each carry a marker runs to completion on the dev server across
 * several workflow runs; no event of any run may contain a marker, decoded or not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { allOutcomes } from '../helpers/ledger-rows';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'items-stay-out-of-history';
const MARKER = 'zq-item-payload-';

/**
 * Every string and byte field of the history, bytes decoded as UTF-8, so a marker inside a
 * payload is found (JSON.stringify of protobuf messages would show payloads as base64).
 */
function historyText(value: unknown, seen = new Set<unknown>()): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value === null || typeof value !== 'object' || seen.has(value)) return '';
  seen.add(value);
  return Object.values(value)
    .map((v) => historyText(v, seen))
    .join('\n');
}

describe('I1: item data stays out of workflow history', () => {
  const suite = devServerSuite('waymark-i1-');

  it('keeps items, results and failure messages in the ledger only, across every run', async () => {
    const file = path.join(suite.dir, 'items.jsonl');
    const lines = Array.from({ length: 300 }, (_, i) =>
      i % 50 === 7 ? `{"broken": "${MARKER}${i}` : JSON.stringify({ text: `${MARKER}${i}` }),
    );
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      // exec echoes the item back, so each result holds its marker too.
      processor: { name: 'exec', options: { command: ['cat'] } },
      sliceSize: 20,
      checkpointEvery: 100,
      concurrency: 3,
    });
    const worker = await suite.worker(TASK_QUEUE);
    const summary = await worker.runUntil(async () => (await startBatch(suite.env.client, spec, 'i1-batch', TASK_QUEUE)).result());
    expect(summary).toMatchObject({ total: 300, succeeded: 294, failed: 6, runs: 3 });

    // The ledger has the markers: the check below would see them if they leaked.
    const rows = await allOutcomes(suite.ledger, 'i1-batch');
    expect(JSON.stringify(rows.filter((r) => r.status === 'succeeded')[0].result)).toContain(MARKER);
    expect(rows.find((r) => r.status === 'failed')?.errorMessage).toBeDefined();

    let runId: string | undefined;
    let runs = 0;
    do {
      const history = await suite.env.client.workflow.getHandle('i1-batch', runId).fetchHistory();
      runs++;
      expect(historyText(history)).not.toContain(MARKER);
      // From the latest run back to the first: each run's start names the run it continues.
      runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    } while (runId);
    expect(runs).toBe(3);
  });
});
