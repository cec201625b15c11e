/**
 * SIGTERM is a polite stop (a deploy, a scale-down, `docker stop`): the worker finishes the item
 * it is on, commits it, and exits 0 well within its shutdown time; the rest of the slice then
 * runs on another worker with nothing redone. Two real worker processes on the dev server.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { loadProcessorModule } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { allOutcomes } from '../helpers/ledger-rows';
import { readLog, type LogLine } from '../helpers/execution-log';

const PROCESSOR_MODULE = path.resolve(__dirname, '../fixtures/paced-processor.js');
const ITEMS = 40;
const SLICE = 20;
const ITEM_MS = 200;
const SHUTDOWN_LIMIT_MS = 10_000;

describe('a worker stopped with SIGTERM mid-item', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let ledger: SqliteLedger;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    loadProcessorModule(PROCESSOR_MODULE);
    dir = makeTempDir('waymark-sigterm-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('finishes and commits the item, exits 0 within its shutdown time, and the slice goes on elsewhere with nothing redone', async () => {
    const file = path.join(dir, 'items.txt');
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => `item-${i}`).join('\n'));
    const executionLog = path.join(dir, 'executions.log');
    fs.writeFileSync(executionLog, '');
    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: 'sigterm',
      WAYMARK_PROCESSORS: PROCESSOR_MODULE,
      WAYMARK_TEST_EXECUTION_LOG: executionLog,
    };
    workers.push(...(await Promise.all([startWorkerProcess(workerEnv), startWorkerProcess(workerEnv)])));

    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'paced', options: { ms: ITEM_MS } },
      sliceSize: SLICE,
      checkpointEvery: ITEMS,
      // One slice at a time, so the slice cut short is the only work in flight.
      concurrency: 1,
      heartbeatTimeoutMs: 5000,
    });
    const handle = await startBatch(env.client, spec, 'sigterm', 'sigterm');

    // Stop the worker that runs the first slice a few items in, right after it starts an item
    // (the check sees a start without its end, and SIGTERM follows within a millisecond or so,
    // well inside the item's 200 ms).
    let started: LogLine | undefined;
    await waitFor(
      'the first slice to be 5 items in',
      () => {
        const lines = readLog(executionLog);
        started = lines.at(-1);
        return lines.length >= 9 && !started!.done;
      },
      30_000,
    );
    const stopped = workers.find((w) => w.child.pid === started!.pid)!;
    const other = workers.find((w) => w !== stopped)!;
    const sentAt = Date.now();
    stopped.child.kill('SIGTERM');
    const exit = await Promise.race([
      stopped.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), SHUTDOWN_LIMIT_MS).unref()),
    ]);
    const shutdownMs = Date.now() - sentAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(shutdownMs).toBeLessThan(SHUTDOWN_LIMIT_MS);
    // A clean shutdown: the worker drained and stopped, with nothing to warn about.
    expect(stopped.output()).toContain("state: 'STOPPED'");
    expect(stopped.output()).not.toMatch(/\[(WARN|ERROR)\]|Unhandled|Error:/);

    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0, redone: 0 });

    const rows = await allOutcomes(ledger, 'sigterm');
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    expect(rows.filter((r) => r.status !== 'succeeded' || r.attempts !== 1)).toEqual([]);

    // No item started twice, and every item that started ran to the end.
    const log = readLog(executionLog);
    const starts = log.filter((l) => !l.done);
    expect(starts.map((l) => l.index).sort((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    expect(
      log
        .filter((l) => l.done)
        .map((l) => `${l.index} ${l.pid}`)
        .sort(),
    ).toEqual(starts.map((l) => `${l.index} ${l.pid}`).sort());

    // The item in flight at SIGTERM was finished and committed by the stopped worker, which
    // started nothing after it; the rest of its slice ran on the other worker.
    const inFlight = started!.index;
    const byStopped = starts.filter((l) => l.pid === stopped.child.pid).map((l) => l.index);
    expect(byStopped.at(-1)).toBe(inFlight);
    expect(inFlight).toBeLessThan(SLICE - 1);
    const restOfSlice = starts.filter((l) => l.index > inFlight && l.index < SLICE);
    expect(restOfSlice.length).toBe(SLICE - 1 - inFlight);
    expect(restOfSlice.every((l) => l.pid === other.child.pid)).toBe(true);
    console.log(`sigterm: stopped pid ${stopped.child.pid} during item ${inFlight}; it exited 0 after ${shutdownMs} ms`);
  });
});
