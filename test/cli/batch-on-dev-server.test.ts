/**
 * The CLI end to end against the real dev server and a worker process, as a user runs it:
 * `start --wait`, `status --json`, `failures --json`, `export`, `start --spec` with an exec
 * processor, and the refusals that need a server or a ledger to tell (a batch id taken twice,
 * an unknown batch id).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ITEMS = 100;
/** Malformed lines (0-based indexes); each becomes a `parse` failure row. */
const MALFORMED = new Map([
  [13, '{"id": broken'],
  [77, 'not json at all'],
]);

describe('waymark CLI against a dev server', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let dir: string;
  let cliEnv: Record<string, string>;
  const expectedHashes = new Map<number, string>();
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv });

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-e2e-');
    env = await createDevServerEnv();
    cliEnv = {
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: path.join(dir, 'data'),
      WAYMARK_TASK_QUEUE: `cli-e2e-${process.pid}`,
    };
    worker = await startWorkerProcess(cliEnv);

    const lines: string[] = [];
    for (let i = 0; i < ITEMS; i++) {
      const malformed = MALFORMED.get(i);
      if (malformed !== undefined) {
        lines.push(malformed);
        continue;
      }
      const text = JSON.stringify({ id: i, name: `item-${i}` });
      lines.push(text);
      expectedHashes.set(i, crypto.createHash('sha256').update(text).digest('hex'));
    }
    fs.writeFileSync(path.join(dir, 'items.jsonl'), `${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('start --wait runs the batch and prints the summary with the right counts', async () => {
    const run = await waymark(
      'start',
      'items.jsonl',
      '--processor',
      'sha256',
      '--slice',
      '10',
      '--checkpoint-every',
      '50',
      '--batch-id',
      'b1',
      '--wait',
    );
    // stderr carries the progress bar, which prints on a timer; only stdout is exact.
    // Exit 3: the batch completed, and some of its items failed.
    expect(run.code).toBe(3);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('started batch b1');
    expect(lines[1]).toMatch(
      /^batch b1 completed: 100 items \(succeeded 98, failed 2\) in \d+\.\d s, [\d.]+ items\/s, 2 workflow run\(s\), redone 0 \(bound 4 per interruption\)$/,
    );
    // 10 slices and 2 runs: the batch's own count of what it cost on Temporal Cloud.
    expect(lines[2]).toMatch(/^actions: \d+ Temporal Cloud actions, [\d.]+ per 1,000 items \(ScheduleActivityTask 1[0-9], .*\)$/);
    expect(lines[3]).toBe(`manifest: ${path.join(dir, 'data', 'manifests', 'b1.json')}`);
    expect(run.stderr).not.toMatch(/waymark:|error/i);
  });

  it('status --json reports the finished batch', async () => {
    const run = await waymark('status', 'b1', '--json');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({
      batchId: 'b1',
      status: 'COMPLETED',
      state: 'completed',
      total: ITEMS,
      succeeded: 98,
      failed: 2,
      cursor: ITEMS,
      redone: 0,
      actions: { byType: expect.objectContaining({ ScheduleActivityTask: expect.any(Number), ContinueAsNewWorkflowExecution: 1 }) },
    });
    const text = await waymark('status', 'b1');
    expect(text.stdout).toMatch(/^actions {3}\d+ Temporal Cloud actions, [\d.]+ per 1,000 items \(/m);
  });

  it('failures --json prints one JSON line per failed item', async () => {
    const run = await waymark('failures', 'b1', '--json');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const rows = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toEqual(
      [...MALFORMED.keys()].map((index) => ({
        index,
        error: { type: 'parse', message: expect.stringMatching(new RegExp(`^line ${index + 1} is not valid JSON: `)) },
        attempts: 0,
      })),
    );
  });

  it('export writes results.jsonl, failures.jsonl and manifest.json with the right counts', async () => {
    const out = path.join(dir, 'export-b1');
    expect(await waymark('export', 'b1', '--out', out)).toEqual({
      code: 0,
      stdout: `wrote 98 results, 2 failures and manifest.json to ${out}\n`,
      stderr: '',
    });
    const jsonLines = (file: string) =>
      fs
        .readFileSync(path.join(out, file), 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
    expect(jsonLines('results.jsonl')).toEqual([...expectedHashes].map(([index, result]) => ({ index, result })));
    expect(jsonLines('failures.jsonl').map((row) => row.index)).toEqual([...MALFORMED.keys()]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).toMatchObject({
      batchId: 'b1',
      status: 'completed',
      total: ITEMS,
      succeeded: 98,
      failed: 2,
      redone: 0,
      runs: 2,
      resumeCostBound: 4,
      source: { kind: 'jsonl', path: path.join(dir, 'items.jsonl') },
      processor: 'sha256',
      sliceSize: 10,
      checkpointEvery: 50,
    });
  });

  it('start --spec runs an exec processor batch from a spec file; the usage= lines it prints reach the summary and the export', async () => {
    const words = ['a', 'hello', 'waymark', 'long batch jobs'];
    fs.writeFileSync(path.join(dir, 'words.txt'), `${words.join('\n')}\n`);
    fs.writeFileSync(
      path.join(dir, 'spec.json'),
      JSON.stringify({
        source: { kind: 'text', path: 'words.txt' },
        processor: {
          name: 'exec',
          options: { command: ['sh', '-c', 'read x; n=$(echo "$x" | wc -c); echo "usage={\\"tokens\\":$n}" >&2; echo "$n"'] },
        },
        sliceSize: 2,
        checkpointEvery: 4,
      }),
    );
    const run = await waymark('start', '--spec', 'spec.json', '--batch-id', 'exec1', '--wait');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^started batch exec1\nbatch exec1 completed: 4 items \(succeeded 4, failed 0\) in /);
    // stdin carries the item as JSON text and a newline: `"a"` + newline is 4 bytes, and as many tokens.
    const bytes = words.map((word) => JSON.stringify(word).length + 1);
    expect(run.stdout).toContain(`\nusage: tokens ${bytes.reduce((a, b) => a + b, 0)}\n`);

    const out = path.join(dir, 'export-exec1');
    expect(await waymark('export', 'exec1', '--out', out)).toMatchObject({ code: 0, stderr: '' });
    const results = fs
      .readFileSync(path.join(out, 'results.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(results).toEqual(bytes.map((n, index) => ({ index, result: String(n), usage: { tokens: n } })));
    expect(fs.readFileSync(path.join(out, 'failures.jsonl'), 'utf8')).toBe('');
  });

  it('refuses a batch id that already exists', async () => {
    const first = await waymark(
      'start',
      'items.jsonl',
      '--processor',
      'sha256',
      '--slice',
      '10',
      '--checkpoint-every',
      '50',
      '--batch-id',
      'dup',
    );
    expect(first).toEqual({ code: 0, stdout: 'started batch dup\nwatch it with `waymark status dup --watch`\n', stderr: '' });
    const second = await waymark('start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'dup');
    expect(second).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'waymark: batch id "dup" already exists (running or finished); choose another with --batch-id, or see it with `waymark status dup`\n',
    });
    // Let the first one finish, so stopping the worker interrupts nothing.
    await env.client.workflow.getHandle('dup').result();
  });

  it('export of an unknown batch id exits 1 with a clear message', async () => {
    expect(await waymark('export', 'no-such-batch', '--out', path.join(dir, 'export-none'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `waymark: no batch "no-such-batch" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir\n`,
    });
    expect(fs.existsSync(path.join(dir, 'export-none'))).toBe(false);
  });

  it('failures of an unknown batch id exits 1 instead of reporting no failures', async () => {
    expect(await waymark('failures', 'no-such-batch', '--json')).toEqual({
      code: 1,
      stdout: '',
      stderr: `waymark: no batch "no-such-batch" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir\n`,
    });
  });

  it('status of an unknown batch id names the server', async () => {
    expect(await waymark('status', 'no-such-batch', '--json')).toEqual({
      code: 1,
      stdout: '',
      stderr: `waymark: no batch "no-such-batch" on ${env.address}; check the id\n`,
    });
  });
});
