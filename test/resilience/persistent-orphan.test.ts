/**
 * No exec-persistent program outlives its worker: a real worker process is SIGKILLed while its
 * program is mid-item, a program that never reads stdin again and ignores SIGTERM, so nothing
 * rests on the program's cooperation. The supervisor's watchdog must kill it within 5 s.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { waitFor } from '../helpers/wait-for';
import { isRunning } from '../helpers/process-state';

const FIXTURE = path.resolve(__dirname, '../fixtures/persistent-behaviours.js');

describe('an exec-persistent program whose worker is SIGKILLed mid-item', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    env = await createDevServerEnv();
  });
  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    removeTempDirs();
  });

  it("is gone within 5 s of the worker's death, though it ignores stdin and SIGTERM", async () => {
    const dir = makeTempDir('waymark-orphan-');
    const items = path.join(dir, 'items.txt');
    fs.writeFileSync(items, 'ok:a\nhang\nok:b\n');
    const pidFile = path.join(dir, 'program.pid');
    worker = await startWorkerProcess({
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: 'persistent-orphan',
      WAYMARK_TEST_PID_FILE: pidFile,
    });
    const spec = validateSpecForStart({
      source: { kind: 'text', path: items },
      processor: { name: 'exec-persistent', options: { command: [FIXTURE] } },
      concurrency: 1,
    });
    await startBatch(env.client, spec, 'persistent-orphan', 'persistent-orphan');
    await waitFor('the program to be mid-item', () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '', 60_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(isRunning(pid)).toBe(true);

    worker.kill('SIGKILL');
    await worker.exited;
    const diedAt = Date.now();
    while (isRunning(pid) && Date.now() - diedAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 10));
    const gone = Date.now() - diedAt;
    console.log(`exec-persistent program gone ${gone} ms after its worker's SIGKILL`);
    expect(gone).toBeLessThan(5_000);
  });
});
