/**
 * Steering a running batch from the CLI, as a user does: pause, status, configure, resume,
 * list with a visibility query on waymark's search attributes, and a graceful cancel.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

describe('waymark pause, resume, configure, cancel and list', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let dir: string;
  let cliEnv: Record<string, string>;
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv });
  const status = async (id: string) => JSON.parse((await waymark('status', id, '--json')).stdout);

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-control-');
    env = await createDevServerEnv();
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: `cli-control-${process.pid}` };
    worker = await startWorkerProcess(cliEnv);
    fs.writeFileSync(path.join(dir, 'words.txt'), Array.from({ length: 400 }, (_, i) => `word-${i}`).join('\n'));
  });
  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const slowBatch = (id: string) =>
    waymark(
      'start',
      'words.txt',
      '--processor',
      'sleep',
      '--option',
      'ms=20',
      '--slice',
      '20',
      '--checkpoint-every',
      '200',
      '--concurrency',
      '1',
      '--batch-id',
      id,
    );

  it('pauses, reports it, takes a new concurrency, resumes to completion, and lists by status', async () => {
    expect((await slowBatch('steered')).code).toBe(0);
    await waitFor('the first items', async () => (await status('steered')).succeeded > 0);

    expect(await waymark('pause', 'steered')).toMatchObject({ code: 0, stdout: expect.stringContaining('pause requested for steered') });
    await waitFor('the pause to take hold', async () => {
      const s = await status('steered');
      return s.state === 'paused' && s.slicesInFlight === 0;
    });
    const whilePaused = (await status('steered')).succeeded;
    await new Promise((r) => setTimeout(r, 500));
    expect((await status('steered')).succeeded).toBe(whilePaused);

    expect(await waymark('configure', 'steered', '--concurrency', '3')).toEqual({
      code: 0,
      stdout: 'steered: concurrency 3, slice size 20\n',
      stderr: '',
    });
    const refused = await waymark('configure', 'steered', '--slice', '30');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "waymark: configure refused: slice size 30 does not divide this batch's checkpointEvery (200 items per workflow run), which cannot change while it runs; choose a slice size that divides it, e.g. 25 or 40\n",
    );

    expect((await waymark('resume', 'steered')).code).toBe(0);
    await waitFor('the batch to complete', async () => (await status('steered')).status === 'COMPLETED', 60_000);
    expect(await status('steered')).toMatchObject({ state: 'completed', succeeded: 400, failed: 0, concurrency: 3, resumeCostBound: 3 });

    // Visibility is eventually consistent: the last upsert may reach the list a moment after the result.
    const line = /^steered\tCOMPLETED\tcompleted\tsucceeded 400, failed 0\t/m;
    await waitFor('the list to show the completed batch', async () =>
      line.test((await waymark('list', '--query', "WaymarkStatus = 'completed'")).stdout),
    );
  });

  it('cancels gracefully: the batch ends cancelled with its manifest, and a second cancel is refused', async () => {
    expect((await slowBatch('cancelled')).code).toBe(0);
    await waitFor('the first items', async () => (await status('cancelled')).succeeded > 0);
    expect(await waymark('cancel', 'cancelled')).toMatchObject({ code: 0 });
    await waitFor('the batch to end', async () => (await status('cancelled')).status === 'CANCELLED', 60_000);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'manifests', 'cancelled.json'), 'utf8'));
    expect(manifest).toMatchObject({ status: 'cancelled', total: 400 });
    expect(manifest.succeeded + manifest.pending).toBe(400);
    expect(manifest.pending).toBeGreaterThan(0);
    expect(await waymark('cancel', 'cancelled')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'waymark: batch "cancelled" is not running (CANCELLED); see it with `waymark status cancelled`\n',
    });
  });
});
