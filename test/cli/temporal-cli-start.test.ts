/**
 * A batch started with the Temporal CLI itself, `temporal workflow start --type batchWorkflow
 * --input-file spec.json`, from the example spec in examples/: the same JSON `waymark start
 * --spec` takes, with its defaults applied inside the workflow. A bad spec that came this way
 * fails the workflow in its first workflow task, naming the field. A workflow started this way
 * under a finished batch's id is refused and leaves that batch alone (I11). Such a batch
 * publishes waymark's search attributes where the namespace has them, and runs where it does not.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowClient, WorkflowFailedError } from '@temporalio/client';
import Database from 'better-sqlite3';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { requireTemporalCli } from '../../src/server/resolve-binaries';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import type { BatchManifest } from '../../src/contract/activity-io';
import { ledgerFile, manifestFile } from '../../src/settings';
import { createDevServerEnv } from '../helpers/temporal-env';
import { waitFor } from '../helpers/wait-for';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE_SPEC = path.join(ROOT, 'examples', 'words-sha256.json');
const WORDS = fs
  .readFileSync(path.join(ROOT, 'examples', 'words.txt'), 'utf8')
  .trimEnd()
  .split('\n');

function run(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A namespace of the dev server that lacks waymark's search attributes. */
const PLAIN_NAMESPACE = 'without-waymark-attributes';

describe('temporal workflow start --input-file starts a batch', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let plainWorker: WorkerProcess;
  let dir: string;
  let taskQueue: string;
  let cliEnv: Record<string, string>;
  const temporalStart = (workflowId: string, specFile: string, namespace = 'default'): Promise<CliRun> =>
    run(
      requireTemporalCli(),
      [
        'workflow',
        'start',
        '--address',
        env.address,
        '--namespace',
        namespace,
        '--type',
        'batchWorkflow',
        '--task-queue',
        taskQueue,
        '--workflow-id',
        workflowId,
        '--input-file',
        specFile,
      ],
      { cwd: ROOT },
    );
  const writeSpec = (name: string, spec: object): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(spec));
    return file;
  };

  beforeAll(async () => {
    // The example's source path is relative: the worker resolves it from its working directory,
    // which is this process's (startWorkerProcess sets none).
    if (!fs.existsSync(path.resolve('examples/words.txt')))
      throw new Error(`run jest from the waymark folder (${ROOT}), not ${process.cwd()}`);
    dir = makeRealTempDir('waymark-temporal-cli-');
    env = await createDevServerEnv({ server: { extraArgs: ['--namespace', PLAIN_NAMESPACE] } });
    taskQueue = `temporal-cli-${process.pid}`;
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: taskQueue };
    worker = await startWorkerProcess(cliEnv);
    plainWorker = await startWorkerProcess({ ...cliEnv, TEMPORAL_NAMESPACE: PLAIN_NAMESPACE });
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await stopWorkerProcess(plainWorker);
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
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'COMPLETED',
      state: 'completed',
      total: 200,
      succeeded: 200,
      failed: 0,
      cursor: 200,
    });

    const out = path.join(dir, 'export');
    expect(await runCli(['export', 'words-from-temporal-cli', '--out', out], { cwd: dir, env: cliEnv })).toMatchObject({
      code: 0,
      stderr: '',
    });
    const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
    expect(fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8')).toBe(
      WORDS.map((word, index) => `${JSON.stringify({ index, result: sha256(word) })}\n`).join(''),
    );
  });

  it('a bad spec fails the workflow at once, non-retryably, naming the field', async () => {
    const badSpec = path.join(dir, 'bad-spec.json');
    fs.writeFileSync(
      badSpec,
      JSON.stringify({ source: { kind: 'text', path: 'examples/words.txt' }, processor: { name: 'sha256' }, sliceSize: 0 }),
    );
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

  it('a new workflow under a finished batch id fails non-retryably, naming the earlier batch, and leaves its rows, spec and manifest alone (I11)', async () => {
    expect(await temporalStart('reused-id', EXAMPLE_SPEC)).toMatchObject({ code: 0 });
    const earlier = (await env.client.workflow.getHandle('reused-id').result()) as BatchManifest;
    expect(earlier).toMatchObject({ status: 'completed', succeeded: 200, failed: 0 });
    const dataDir = cliEnv.WAYMARK_DATA_DIR;
    const snapshot = () => {
      const db = new Database(ledgerFile(dataDir), { readonly: true });
      try {
        return {
          rows: db.prepare("SELECT * FROM items WHERE batch_id = 'reused-id' ORDER BY idx").all(),
          record: db.prepare("SELECT * FROM batches WHERE batch_id = 'reused-id'").get(),
          manifestFile: fs.readFileSync(manifestFile('reused-id', dataDir), 'utf8'),
        };
      } finally {
        db.close();
      }
    };
    const before = snapshot();
    expect(before.rows).toHaveLength(200);

    // Another file under the same id: the server accepts the start, since the batch is closed.
    fs.writeFileSync(path.join(dir, 'other.txt'), 'alpha\nbeta\ngamma\n');
    const otherSpec = writeSpec('other-spec.json', {
      source: { kind: 'text', path: path.join(dir, 'other.txt') },
      processor: { name: 'sha256' },
    });
    expect(await temporalStart('reused-id', otherSpec)).toMatchObject({ code: 0 });
    const handle = env.client.workflow.getHandle('reused-id');
    const err: unknown = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({
      type: 'BatchIdReused',
      nonRetryable: true,
      message:
        `batch id reused-id already names an earlier batch (started ${earlier.startedAt}, completed ${earlier.finishedAt} with 200 succeeded, 0 failed, source examples/words.txt); ` +
        'a batch id names one batch forever, so this workflow ran nothing and changed nothing. ' +
        "Start it under a new workflow id, e.g. reused-id-2; the earlier batch's outcomes stay in the ledger, `waymark export reused-id` reads them.",
    });
    // Refused at its first planWindow: no slice ran, no finalize wrote a manifest.
    const { events } = await handle.fetchHistory();
    expect(
      events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name),
    ).toEqual(['planWindow']);
    expect(snapshot()).toEqual(before);
  });

  it('a batch started without --search-attribute publishes WaymarkStatus, WaymarkSucceeded and WaymarkFailed where the namespace has them', async () => {
    fs.writeFileSync(path.join(dir, 'items.jsonl'), ['{"id":1}', '{"id":2}', 'not json', '{"id":4}', '{broken'].join('\n'));
    const spec = writeSpec('jsonl-spec.json', {
      source: { kind: 'jsonl', path: path.join(dir, 'items.jsonl') },
      processor: { name: 'noop' },
      sliceSize: 1,
      checkpointEvery: 2,
    });
    expect(await temporalStart('listed-by-attributes', spec)).toMatchObject({ code: 0 });
    expect(await env.client.workflow.getHandle('listed-by-attributes').result()).toMatchObject({
      status: 'completed',
      succeeded: 3,
      failed: 2,
      runs: 3,
    });

    const found = async (query: string): Promise<string[]> => {
      const ids: string[] = [];
      for await (const w of env.client.workflow.list({ query })) ids.push(w.workflowId);
      return ids;
    };
    // Visibility is eventually consistent.
    await waitFor('the batch listed by WaymarkFailed > 0', async () => (await found('WaymarkFailed > 0')).includes('listed-by-attributes'));
    await waitFor("the batch listed by WaymarkStatus = 'completed'", async () =>
      (await found("WaymarkStatus = 'completed' AND WaymarkSucceeded = 3 AND WaymarkFailed = 2")).includes('listed-by-attributes'),
    );
  });

  it('a batch started on a namespace without the search attributes still completes', async () => {
    // The dev server registers them on every namespace it creates: take them off this one.
    const waymarkAttributes = async () => {
      const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: PLAIN_NAMESPACE });
      return Object.keys(customAttributes ?? {}).filter((name) => name.startsWith('Waymark'));
    };
    await env.connection.operatorService.removeSearchAttributes({
      namespace: PLAIN_NAMESPACE,
      searchAttributes: await waymarkAttributes(),
    });
    await waitFor(`no Waymark search attributes on ${PLAIN_NAMESPACE}`, async () => (await waymarkAttributes()).length === 0);

    expect(await temporalStart('no-attributes', EXAMPLE_SPEC, PLAIN_NAMESPACE)).toMatchObject({ code: 0 });
    const handle = new WorkflowClient({ connection: env.connection, namespace: PLAIN_NAMESPACE }).getHandle('no-attributes');
    expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 200, failed: 0, runs: 2 });
    expect(Object.keys((await handle.describe()).searchAttributes).filter((name) => name.startsWith('Waymark'))).toEqual([]);
  });
});
