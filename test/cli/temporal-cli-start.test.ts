/**
 * A batch started with the Temporal CLI itself, `temporal workflow start --type batchWorkflow
 * --input-file spec.json`, from the example spec in examples/: the same JSON `waymark start
 * --spec` takes, with its defaults applied inside the workflow. A bad spec that came this way
 * fails the workflow in its first workflow task, naming the field.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { requireTemporalCli } from '../../src/server/resolve-binaries';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE_SPEC = path.join(ROOT, 'examples', 'words-sha256.json');
const WORDS = fs.readFileSync(path.join(ROOT, 'examples', 'words.txt'), 'utf8').trimEnd().split('\n');

function run(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('temporal workflow start --input-file starts a batch', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let dir: string;
  let taskQueue: string;
  let cliEnv: Record<string, string>;
  const temporalStart = (workflowId: string, specFile: string): Promise<CliRun> =>
    run(
      requireTemporalCli(),
      ['workflow', 'start', '--address', env.address, '--type', 'batchWorkflow', '--task-queue', taskQueue, '--workflow-id', workflowId, '--input-file', specFile],
      { cwd: ROOT },
    );

  beforeAll(async () => {
    // The example's source path is relative: the worker resolves it from its working directory,
    // which is this process's (startWorkerProcess sets none).
    if (!fs.existsSync(path.resolve('examples/words.txt'))) throw new Error(`run jest from the waymark folder (${ROOT}), not ${process.cwd()}`);
    dir = makeRealTempDir('waymark-temporal-cli-');
    env = await createDevServerEnv();
    taskQueue = `temporal-cli-${process.pid}`;
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: taskQueue };
    worker = await startWorkerProcess(cliEnv);
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the example spec to completion with the right counts', async () => {
    const start = await temporalStart('words-from-temporal-cli', EXAMPLE_SPEC);
    expect(start).toMatchObject({ code: 0 });
    expect(start.stdout).toContain('words-from-temporal-cli');

    const summary = await env.client.workflow.getHandle<typeof batchWorkflow>('words-from-temporal-cli').result();
    expect(summary).toMatchObject({
      batchId: 'words-from-temporal-cli',
      status: 'completed',
      total: 200,
      succeeded: 200,
      failed: 0,
      pending: 0,
      redone: 0,
      // The spec's own S and N, and the defaults the workflow applied to what it left out.
      sliceSize: 50,
      checkpointEvery: 100,
      runs: 2,
      concurrency: 4,
      commitGroup: 1,
      source: { kind: 'text', path: 'examples/words.txt' },
      processor: 'sha256',
    });

    const status = await runCli(['status', 'words-from-temporal-cli', '--json'], { cwd: dir, env: cliEnv });
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'COMPLETED', state: 'completed', total: 200, succeeded: 200, failed: 0, cursor: 200 });

    const out = path.join(dir, 'export');
    expect(await runCli(['export', 'words-from-temporal-cli', '--out', out], { cwd: dir, env: cliEnv })).toMatchObject({ code: 0, stderr: '' });
    const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
    expect(fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8')).toBe(WORDS.map((word, index) => `${JSON.stringify({ index, result: sha256(word) })}\n`).join(''));
  });

  it('a bad spec fails the workflow at once, non-retryably, naming the field', async () => {
    const badSpec = path.join(dir, 'bad-spec.json');
    fs.writeFileSync(badSpec, JSON.stringify({ source: { kind: 'text', path: 'examples/words.txt' }, processor: { name: 'sha256' }, sliceSize: 0 }));
    expect(await temporalStart('bad-spec-from-temporal-cli', badSpec)).toMatchObject({ code: 0 });

    const handle = env.client.workflow.getHandle('bad-spec-from-temporal-cli');
    const err: unknown = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({
      type: 'SpecError',
      nonRetryable: true,
      message: 'invalid batch spec: sliceSize must be at least 1 (items per slice)',
      details: [{ field: 'sliceSize' }],
    });
    // Failed in its first workflow task: no activity ran, nothing was retried.
    const { events } = await handle.fetchHistory();
    expect(events).toHaveLength(5);
    expect(events?.at(-1)?.workflowExecutionFailedEventAttributes).toBeTruthy();
  });
});
