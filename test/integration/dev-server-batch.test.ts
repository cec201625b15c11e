/**
 * End to end on the real dev server (the pinned Temporal CLI): a 10,000-item JSONL batch with
 * exact ledger contents, malformed lines routed to failures, and a worker process killed with
 * SIGKILL mid-slice, after which every item has exactly one outcome and redone <= the bound.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startWorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { exportBatch } from '../../src/cli/export-batch';
import { EVENTS_PER_RUN_BUDGET } from '../../src/workflows/batch-workflow';
import { loadProcessorModule } from '../../src/processors/registry';
import { allOutcomes } from '../helpers/ledger-rows';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'dev-server-batch';

describe('a batch on the dev server', () => {
  const suite = devServerSuite('waymark-e2e-');

  it('runs 10,000 JSONL items to exact ledger contents, with malformed lines as parse failures', async () => {
    const file = path.join(suite.dir, 'items.jsonl');
    const lines: string[] = [];
    const expected = new Map<number, string>();
    for (let i = 0; i < 10_000; i++) {
      if (i === 100 || i === 5000) lines.push('{"id": broken');
      else if (i === 7000) lines.push('');
      else {
        const value = { id: i, name: `item-${i}` };
        lines.push(JSON.stringify(value));
        expected.set(i, crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex'));
      }
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);

    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'sha256' },
      sliceSize: 100,
      checkpointEvery: 2000,
      concurrency: 4,
    });
    const worker = await suite.worker(TASK_QUEUE);
    const handle = await worker.runUntil(async () => {
      const h = await startBatch(suite.env.client, spec, 'jsonl-10k', TASK_QUEUE);
      await h.result();
      return h;
    });
    const summary = await handle.result();

    expect(summary).toMatchObject({ total: 10_000, succeeded: 9997, failed: 3, runs: 5, redone: 0, resumeCostBound: 4 });
    const rows = await allOutcomes(suite.ledger, 'jsonl-10k');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    for (const row of rows) {
      if (expected.has(row.index)) expect(row).toMatchObject({ status: 'succeeded', result: expected.get(row.index), attempts: 1 });
    }
    const failures = rows.filter((r) => r.status === 'failed').map((r) => [r.index, r.errorType, r.errorMessage]);
    expect(failures).toEqual([
      [100, 'parse', expect.stringContaining('line 101')],
      [5000, 'parse', expect.stringContaining('line 5001')],
      [7000, 'parse', 'line 7001 is empty (remove blank lines from the file)'],
    ]);

    // Each of the 5 runs stays far under the history budget (I2).
    const runEvents: number[] = [];
    let runId: string | undefined = (await handle.describe()).runId;
    while (runId) {
      const history: Awaited<ReturnType<ReturnType<typeof suite.env.client.workflow.getHandle>['fetchHistory']>> =
        await suite.env.client.workflow.getHandle('jsonl-10k', runId).fetchHistory();
      runEvents.push(history.events!.length);
      runId = history.events![0].workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    expect(runEvents).toHaveLength(5);
    for (const n of runEvents) expect(n).toBeLessThan(EVENTS_PER_RUN_BUDGET);

    const out = path.join(suite.dir, 'export');
    const exported = await exportBatch(suite.ledger, 'jsonl-10k', out);
    expect(exported).toMatchObject({ results: 9997, failures: 3 });
    const firstResult = JSON.parse(fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8').split('\n')[0]);
    expect(firstResult).toEqual({ index: 0, result: expected.get(0) });
    const failureLines = fs
      .readFileSync(path.join(out, 'failures.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(failureLines[2]).toEqual({
      index: 7000,
      error: { type: 'parse', message: 'line 7001 is empty (remove blank lines from the file)' },
      attempts: 0,
    });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).toMatchObject({
      batchId: 'jsonl-10k',
      status: 'completed',
      total: 10_000,
      succeeded: 9997,
      failed: 3,
      runs: 5,
      resumeCostBound: 4,
    });
  });

  it('loses and duplicates nothing when a worker process is SIGKILLed mid-slice, and redoes at most the bound', async () => {
    const file = path.join(suite.dir, 'words.txt');
    const items = 1500;
    fs.writeFileSync(file, Array.from({ length: items }, (_, i) => `word-${i}`).join('\n'));
    const executionLog = path.join(suite.dir, 'executions.log');
    fs.writeFileSync(executionLog, '');
    const workerEnv = {
      TEMPORAL_ADDRESS: suite.env.address,
      WAYMARK_DATA_DIR: suite.dir,
      WAYMARK_TASK_QUEUE: 'kill-test',
      WAYMARK_PROCESSORS: path.resolve(__dirname, '../fixtures/logging-processor.js'),
      WAYMARK_TEST_EXECUTION_LOG: executionLog,
    };
    loadProcessorModule(workerEnv.WAYMARK_PROCESSORS);
    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'logged', options: { ms: 4 } },
      sliceSize: 100,
      checkpointEvery: 500,
      concurrency: 3,
      heartbeatTimeoutMs: 2000,
    });

    const first = await startWorkerProcess(workerEnv);
    const handle = await startBatch(suite.env.client, spec, 'kill-test', 'kill-test');
    await waitFor('400 committed items', async () => (await suite.ledger.totals('kill-test')).succeeded >= 400);
    first.child.kill('SIGKILL');
    await first.exited;
    const committedAtKill = (await suite.ledger.totals('kill-test')).succeeded;

    const second = await startWorkerProcess(workerEnv);
    try {
      const summary = await handle.result();
      const rows = await allOutcomes(suite.ledger, 'kill-test');
      expect(rows.map((r) => r.index)).toEqual(Array.from({ length: items }, (_, i) => i));
      expect(rows.every((r) => r.status === 'succeeded')).toBe(true);

      const executions = new Map<number, number>();
      for (const line of fs.readFileSync(executionLog, 'utf8').split('\n').filter(Boolean)) {
        executions.set(Number(line), (executions.get(Number(line)) ?? 0) + 1);
      }
      expect(executions.size).toBe(items);
      const redoneIndexes = [...executions].filter(([, n]) => n > 1).map(([i]) => i);
      // One interruption: at most C x k = 3 items were in flight, and only those ran twice.
      expect(summary.resumeCostBound).toBe(3);
      expect(redoneIndexes.length).toBeLessThanOrEqual(summary.resumeCostBound);
      expect([...executions.values()].every((n) => n <= 2)).toBe(true);
      // waymark's own count of redone items covers every real re-execution, and stays within the bound.
      expect(summary.redone).toBeGreaterThanOrEqual(redoneIndexes.length);
      expect(summary.redone).toBeLessThanOrEqual(summary.resumeCostBound);
      expect(committedAtKill).toBeLessThan(items);
      console.log(
        `kill test: killed at ${committedAtKill} committed items; re-executed ${redoneIndexes.length} item(s) [${redoneIndexes.join(', ')}]; reported redone ${summary.redone}, bound ${summary.resumeCostBound}`,
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
