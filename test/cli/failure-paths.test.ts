/**
 * Every CLI command through its failure paths, as a user meets them: no server, no worker, an
 * unknown batch, a batch that failed before any item, bad paths, a bad spec. Each mistake is one
 * line on stderr (no stack trace), the exit code says how it ended, and the line names the cause
 * and the fix. One dev server for the suite; a worker only for the part where batches must run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';
import { BATCH_WORKFLOW_TYPE } from '../../src/contract/messages';
import { createDevServerEnv } from '../helpers/temporal-env';
import { findFreePort } from '../../tools/support/free-port';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';
import { processorNames } from '../../src/processors/registry';

const BIN = path.resolve(__dirname, '../../bin/waymark.js');

/** The progress bar of --wait and --watch, which prints to stderr on a timer when there is no terminal. */
// The progress bar's own lines ("42% | 42/100 items |", "?% | 0/? items |" before the source is counted).
const BAR_LINE = /% \| \d+\/(\d+|\?) items \|/;

/** One line on stderr besides the progress bar, no stack trace, this exit code, and the line matching `message`. */
function expectOneLine(run: CliRun, code: number, message: RegExp | string): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  const lines = run.stderr
    .trimEnd()
    .split('\n')
    .filter((line) => line.trim() !== '' && !BAR_LINE.test(line));
  expect({ code: run.code, lines }).toEqual({ code, lines: [expect.any(String)] });
  if (typeof message === 'string') expect(lines[0]).toBe(`waymark: ${message}`);
  else expect(lines[0]).toMatch(message);
}

describe('waymark CLI failure paths', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess | undefined;
  let dir: string;
  let dataDir: string;
  let cliEnv: Record<string, string>;
  let taskQueue: string;
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv, timeoutMs: 30_000 });
  const noWorker = () =>
    `no worker is polling task queue ${taskQueue} on ${env.address}; start one with \`npx waymark worker\` (with WAYMARK_TASK_QUEUE=${taskQueue})`;

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-failures-');
    dataDir = path.join(dir, 'data');
    env = await createDevServerEnv();
    taskQueue = `cli-failures-${process.pid}`;
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: dataDir, WAYMARK_TASK_QUEUE: taskQueue };
    fs.writeFileSync(path.join(dir, 'items.jsonl'), `${[0, 1, 2, 3].map((id) => JSON.stringify({ id })).join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'some-bad.jsonl'), '{"id": 0}\nnot json\n{"id": 2}\n');
    fs.writeFileSync(path.join(dir, 'empty.jsonl'), '');
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a server, each command names the address and `npx waymark dev`', async () => {
    const offline = (...args: string[]) =>
      runCli(args, { cwd: dir, env: { ...cliEnv, TEMPORAL_ADDRESS: '127.0.0.1:1' }, timeoutMs: 30_000 });
    // Side by side: each waits out the connect timeout.
    const runs = await Promise.all(
      [['status', 'b'], ['pause', 'b'], ['cancel', 'b'], ['list'], ['start', 'items.jsonl', '--processor', 'sha256', '--wait']].map(
        (args) => offline(...args),
      ),
    );
    for (const run of runs) {
      expectOneLine(
        run,
        1,
        /^waymark: no Temporal server reachable at 127\.0\.0\.1:1 \(.+\); start one with `npx waymark dev` or set TEMPORAL_ADDRESS to a running server$/,
      );
    }
  });

  describe('mistakes refused before any work', () => {
    const spec = (name: string, body: unknown) => {
      fs.writeFileSync(path.join(dir, name), JSON.stringify(body));
      return waymark('start', '--spec', name);
    };
    it('a spec that is an array or a string names what it got', async () => {
      expectOneLine(await spec('array.json', [{ source: {} }]), 1, 'invalid batch spec: the spec must be a JSON object, got an array');
      expectOneLine(
        await spec('string.json', 'items.jsonl'),
        1,
        'invalid batch spec: the spec must be a JSON object, got the string "items.jsonl"',
      );
    });
    it('a field of the wrong type names the type it got', async () => {
      const base = { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' } };
      expectOneLine(
        await spec('slice.json', { ...base, sliceSize: '5' }),
        1,
        'invalid batch spec: sliceSize must be a whole number (items per slice), got the string "5"',
      );
      expectOneLine(
        await spec('kind.json', { ...base, source: { kind: 'xml', path: 'items.jsonl' } }),
        1,
        'invalid batch spec: source.kind must be one of jsonl, text, csv, folder, postgres-table, got the string "xml"',
      );
      expectOneLine(
        await spec('source.json', { ...base, source: 'items.jsonl' }),
        1,
        'invalid batch spec: source must be a JSON object, got the string "items.jsonl"',
      );
      expectOneLine(await spec('missing.json', { source: base.source }), 1, 'invalid batch spec: processor is required');
    });

    it('dev on a port in use says so in one line', async () => {
      const uiPort = await findFreePort();
      expectOneLine(
        await waymark('dev', '--port', env.address.split(':').pop()!, '--ui-port', String(uiPort)),
        1,
        /^waymark: cannot start the Temporal dev server: 127\.0\.0\.1:\d+ \(its gRPC port\) is already in use\. .*TEMPORAL_ADDRESS=/,
      );
    });

    it('an empty --batch-id, and a --query the server refuses, say what is wrong with the reason', async () => {
      const empty = await waymark('start', 'items.jsonl', '--processor', 'sha256', '--batch-id', '');
      expect(empty).toMatchObject({ code: 1, stdout: '' });
      expect(empty.stderr.split('\n')[0]).toBe(
        "waymark: option '--batch-id <id>' argument '' is invalid. --batch-id must not be empty, got \"\"; give an id such as items-1, or leave the flag out for one made from the input's name and the time",
      );
      expectOneLine(
        await waymark('start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'x'.repeat(1001)),
        1,
        /^waymark: the server refused to start batch "x{1001}": WorkflowId exceeds maximum allowed length \(1001\/1000\); fix it \(--batch-id\) and start again$/,
      );
      expectOneLine(
        await waymark('list', '--query', 'bogus ==='),
        1,
        /^waymark: the server refused --query "bogus ===": invalid query: .*syntax error.* \(the query sent was WorkflowType = 'batchWorkflow' AND \(bogus ===\)\); write a Temporal list filter, e\.g\. --query "WaymarkFailed > 0"/,
      );
    });

    it('--version prints the version; help names a command it does not know; start --help lists every processor', async () => {
      const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
      expect(await waymark('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
      expectOneLine(
        await waymark('help', 'nosuch'),
        1,
        /^waymark: no command "nosuch"; the commands of waymark are dev, worker, start, .*`waymark --help`/,
      );
      expectOneLine(
        await waymark('help', 'schedule', 'nosuch'),
        1,
        /^waymark: no command "schedule nosuch"; the commands of waymark schedule are create, /,
      );
      expect(await waymark('help', 'status')).toMatchObject({
        code: 0,
        stdout: expect.stringContaining('Usage: waymark status [options] <batch>'),
      });
      const help = await waymark('start', '--help');
      expect(help.code).toBe(0);
      const processorLine = help.stdout.replace(/\s+/g, ' ');
      for (const name of processorNames()) expect(processorLine).toContain(` ${name},`);
    });

    it('start refuses an http url on a port fetch blocks, and a file whose name says no kind it reads', async () => {
      expectOneLine(
        await waymark('start', 'items.jsonl', '--processor', 'http', '--option', 'url=http://127.0.0.1:9/items/{id}'),
        1,
        /^waymark: .*option "url" uses port 9, which fetch refuses to connect to .*serve the API on another port/,
      );
      fs.writeFileSync(path.join(dir, 'x.xml'), '<items><item id="1"/></items>\n');
      expectOneLine(
        await waymark('start', 'x.xml', '--processor', 'sha256'),
        1,
        'cannot tell how to read x.xml from its name (.xml): waymark reads JSONL (.jsonl), CSV (.csv) and text (.txt, one item per line) files, and folders. Give --source-kind text to take each line as an item, or --source-kind jsonl or csv.',
      );
      expect(await waymark('list', '--query', "WorkflowId = 'x.xml'")).toMatchObject({
        stdout: expect.stringContaining('no batches match'),
      });
    });

    it('a ledger URL is shown with its password masked, in user:password and in the query', async () => {
      for (const url of ['postgres://waymark:s3cret@127.0.0.1:1/db', 'postgres://waymark@127.0.0.1:1/db?password=s3cret']) {
        const run = await runCli(['failures', 'b'], { cwd: dir, env: { ...cliEnv, WAYMARK_LEDGER_URL: url } });
        expectOneLine(
          run,
          1,
          /^waymark: cannot reach the PostgreSQL ledger at postgres:\/\/waymark(:\*\*\*)?@127\.0\.0\.1:1\/db(\?password=\*\*\*)?/,
        );
        expect(run.stderr).not.toContain('s3cret');
      }
    });

    it('failures without a ledger names WAYMARK_DATA_DIR and creates none', async () => {
      const elsewhere = path.join(dir, 'no-data-here');
      const run = await runCli(['failures', 'b'], {
        cwd: dir,
        env: { ...cliEnv, TEMPORAL_ADDRESS: '127.0.0.1:1', WAYMARK_DATA_DIR: elsewhere },
      });
      expectOneLine(
        run,
        1,
        `no ledger ${path.join(elsewhere, 'ledger.sqlite')}: no worker has run with this data dir; set WAYMARK_DATA_DIR to the worker's data dir (or WAYMARK_LEDGER_URL to its PostgreSQL ledger)`,
      );
      expect(fs.existsSync(elsewhere)).toBe(false);
    });

    it('export --out refuses a file and a special filesystem at once', async () => {
      const file = path.join(dir, 'items.jsonl');
      expectOneLine(
        await waymark('export', 'b', '--out', file),
        1,
        `--out ${file} is a file, not a folder; give a folder (it is created when missing)`,
      );
      const started = Date.now();
      expectOneLine(
        await waymark('export', 'b', '--out', '/proc/waymark-export'),
        1,
        '--out /proc/waymark-export is under /proc, a special filesystem, not a folder for files; give a folder on disk',
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });

  describe('an unknown batch', () => {
    it.each([
      ['status', `no batch "nope" on {address}; check the id`],
      ['pause', 'no batch "nope" on {address}; check the id with `waymark list`'],
      ['cancel', 'no batch "nope" on {address}; check the id with `waymark list`'],
    ])('%s names the server', async (command, message) => {
      expectOneLine(await waymark(command, 'nope'), 1, message.replace('{address}', env.address));
    });
    it.each([['failures'], ['export', '--out', 'out-nope'], ['redrive']])('%s names the ledger fix', async (command, ...rest) => {
      const run = await waymark(command, 'nope', ...rest);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /^waymark: no (batch "nope" in this ledger|ledger .*ledger\.sqlite: no worker has run with this data dir); .*WAYMARK_DATA_DIR/,
      );
      expect(fs.existsSync(path.join(dir, 'out-nope'))).toBe(false);
    });
  });

  describe('no worker polls the task queue', () => {
    it('status of a running batch says so within 5 s', async () => {
      expect(await waymark('start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'waits')).toMatchObject({ code: 0 });
      const started = Date.now();
      expectOneLine(await waymark('status', 'waits'), 1, `batch waits is running, but it cannot report progress: ${noWorker()}`);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('configure says so instead of waiting; pause and resume say when they take effect', async () => {
      expectOneLine(await waymark('configure', 'waits', '--concurrency', '2'), 1, `cannot configure batch waits now: ${noWorker()}`);
      for (const command of ['pause', 'resume']) {
        const run = await waymark(command, 'waits');
        expect(run.code).toBe(0);
        expect(run.stderr).toBe(`waymark: ${noWorker()}; the request takes effect once one does\n`);
      }
    });

    it('start --wait says so within 5 s and keeps waiting; Ctrl-C says the batch runs on', async () => {
      const child = spawn(process.execPath, [BIN, 'start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'waited', '--wait'], {
        cwd: dir,
        env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...cliEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 15_000;
      while (!stdout.includes('started batch waited')) {
        if (Date.now() > deadline) throw new Error(`no start line:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const startedAt = Date.now();
      while (!stderr.includes('no worker is polling')) {
        if (Date.now() - startedAt > 5000) throw new Error(`no word on the missing worker within 5 s:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stderr).toBe(`waymark: ${noWorker()}; waiting for one\n`);
      // Still waiting: that is the point of --wait.
      await new Promise((r) => setTimeout(r, 1000));
      expect(child.exitCode).toBeNull();
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr.trimEnd().split('\n').at(-1)).toBe(
        'waymark: stopped watching; batch waited runs on. Watch it again with `waymark status waited --watch`, stop it with `waymark cancel waited`',
      );
      expect(stderr).not.toMatch(/^\s+at /m);
    });
  });

  it('a worker started through npx (npm, then sh) stops when npx is killed', async () => {
    // npm exec runs `sh -c "waymark worker"`; here a launcher process stands in for npm, and `; true` keeps sh from exec-ing node.
    const launcher = spawn(
      process.execPath,
      [
        '-e',
        `require('node:child_process').spawn('sh', ['-c', '"${process.execPath}" "${BIN}" worker; true'], { stdio: 'inherit' }); setInterval(() => {}, 1000);`,
      ],
      {
        cwd: dir,
        env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...cliEnv, npm_command: 'exec' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let output = '';
    launcher.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!output.includes('waymark worker:')) {
      if (Date.now() > deadline) throw new Error(`worker not ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const workerPid = Number(
      fs
        .readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8')
        .trim()
        .split(' ')
        .map((sh) => fs.readFileSync(`/proc/${sh}/task/${sh}/children`, 'utf8').trim())[0],
    );
    launcher.kill('SIGKILL');
    const stopBy = Date.now() + 15_000;
    const alive = () => {
      try {
        process.kill(workerPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (alive() && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    expect(output).toContain('waymark: the process that started this one is gone; stopping');
  });

  describe('with a worker', () => {
    beforeAll(async () => {
      worker = await startWorkerProcess(cliEnv);
      // A spec that did not come through waymark: the workflow fails in its first task, before any item.
      await env.client.workflow.start(BATCH_WORKFLOW_TYPE, {
        workflowId: 'bad-spec',
        taskQueue,
        args: [{ source: { kind: 'jsonl', path: path.join(dir, 'items.jsonl') }, processor: { name: 'sha256' }, sliceSize: 0 }],
      });
      await env.client.workflow
        .getHandle('bad-spec')
        .result()
        .catch(() => undefined);
    });

    const reason = 'invalid batch spec: sliceSize must be at least 1 (items per slice)';

    it('status of a batch that failed before any item shows the failure and its reason', async () => {
      const run = await waymark('status', 'bad-spec');
      expect(run).toEqual({ code: 0, stderr: '', stdout: `batch     bad-spec\nstate     failed\nreason    ${reason}\nworkflow  FAILED\n` });
      const json = await waymark('status', 'bad-spec', '--json');
      expect(JSON.parse(json.stdout)).toEqual({ batchId: 'bad-spec', status: 'FAILED', state: 'failed', reason });
      const watched = await waymark('status', 'bad-spec', '--watch');
      expect(watched.stdout).toBe(run.stdout);
      expectOneLine(watched, 4, `batch bad-spec failed: ${reason}`);
    });

    it.each([
      ['failures', []],
      ['export', ['--out', 'out-bad']],
      ['redrive', []],
    ])('%s of a batch that failed before any item says it failed, with the reason', async (command, rest) => {
      const action = { failures: 'list', export: 'export', redrive: 'redrive' }[command];
      expectOneLine(
        await waymark(command, 'bad-spec', ...rest),
        1,
        `batch "bad-spec" failed before it finished: ${reason}; it has nothing to ${action}. Fix the cause and start a new batch`,
      );
    });

    it('--wait exits 0 when every item succeeded, 3 when some failed, and says a 0-item source had nothing to do', async () => {
      const ok = await waymark('start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'all-ok', '--wait');
      expect(ok.code).toBe(0);
      const some = await waymark('start', 'some-bad.jsonl', '--processor', 'sha256', '--batch-id', 'some-bad', '--wait');
      expect(some.code).toBe(3);
      expect(some.stderr).toContain(
        '1 item(s) failed (exit code 3); list them with `waymark failures some-bad`, re-run them with `waymark redrive some-bad`',
      );
      expect((await waymark('status', 'some-bad', '--watch')).code).toBe(3);
      const empty = await waymark('start', 'empty.jsonl', '--processor', 'sha256', '--batch-id', 'empty', '--wait');
      expect(empty.code).toBe(0);
      expect(empty.stdout).toContain('batch empty completed: nothing to do, the source has no items');
      expect((await waymark('status', 'empty')).stdout).toContain('note      nothing to do: the source has no items');
    });

    it('--wait exits 4 when the batch fails, with the reason in one line', async () => {
      fs.writeFileSync(
        path.join(dir, 'intolerant.json'),
        JSON.stringify({ source: { kind: 'jsonl', path: 'some-bad.jsonl' }, processor: { name: 'sha256' }, toleratedFailureCount: 0 }),
      );
      const run = await waymark('start', '--spec', 'intolerant.json', '--batch-id', 'intolerant', '--wait');
      // 3 items at C = 4: start adds the lanes line when the worker has planned within its 3 s look.
      expect(run.stdout).toMatch(
        /^started batch intolerant\n(lanes in use: 3 of C=4: the batch has 3 items, and a lane needs at least one\n)?$/,
      );
      expectOneLine(run, 4, /^waymark: batch intolerant failed: batch stopped: .+; \d+ succeeded, 1 failed, \d+ pending \(manifest .+\)$/);
      expect((await waymark('status', 'intolerant', '--watch')).code).toBe(4);
    });

    it('status --watch exits 5 for a cancelled batch', async () => {
      expect(
        await waymark(
          'start',
          'items.jsonl',
          '--processor',
          'sleep',
          '--option',
          'ms=2000',
          '--slice',
          '1',
          '--checkpoint-every',
          '4',
          '--concurrency',
          '1',
          '--batch-id',
          'stopped',
        ),
      ).toMatchObject({ code: 0 });
      expect(await waymark('cancel', 'stopped')).toMatchObject({ code: 0 });
      const run = await waymark('status', 'stopped', '--watch');
      expectOneLine(
        run,
        5,
        'batch stopped was cancelled; what it finished is kept: `waymark export stopped --out DIR`, `waymark redrive stopped` runs the rest',
      );
    });

    it('start takes the command of exec-persistent after --', async () => {
      const client = path.resolve(__dirname, '../../examples/persistent/sha256_client.py');
      const run = await waymark(
        'start',
        'items.jsonl',
        '--processor',
        'exec-persistent',
        '--batch-id',
        'persistent-cmd',
        '--wait',
        '--',
        'python3',
        client,
      );
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout).toContain('started batch persistent-cmd');
      expect((await waymark('failures', 'persistent-cmd')).stdout).toBe('0 failed item(s) in batch persistent-cmd\n');
    });

    it('configure --slice names slice sizes that fit the batch, not a checkpointEvery it cannot set', async () => {
      expect(
        await waymark(
          'start',
          'items.jsonl',
          '--processor',
          'sleep',
          '--option',
          'ms=3000',
          '--slice',
          '1',
          '--concurrency',
          '1',
          '--batch-id',
          'reslice',
        ),
      ).toMatchObject({ code: 0 });
      const run = await waymark('configure', 'reslice', '--slice', '7');
      expectOneLine(
        run,
        1,
        "configure refused: slice size 7 does not divide this batch's checkpointEvery (100000 items per workflow run), which cannot change while it runs; choose a slice size that divides it, e.g. 5 or 8",
      );
      expect(await waymark('cancel', 'reslice')).toMatchObject({ code: 0 });
    });

    it('failures shows control bytes of a message as escapes, not raw on the terminal', async () => {
      // A program whose stderr (kept in its failure row) holds a NUL, a clear-screen sequence and a bell.
      const printf = String.raw`printf 'bad \000 line \033[2J\007 here' >&2; exit 65`;
      const started = await waymark(
        'start',
        'items.jsonl',
        '--processor',
        'exec',
        '--batch-id',
        'control',
        '--wait',
        '--',
        'sh',
        '-c',
        printf,
      );
      expect(started.code).toBe(3);
      const run = await waymark('failures', 'control');
      expect(run.code).toBe(0);
      // eslint-disable-next-line no-control-regex -- the control characters are what must not reach the terminal
      expect(run.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(run.stdout).toContain('bad \\u0000 line \\u001b[2J\\u0007 here');
    });

    it('after the last worker is SIGKILLed, status, configure and start --wait say within seconds that none polls, and when one was last seen', async () => {
      const slow = ['--processor', 'sleep', '--option', 'ms=1000', '--slice', '1', '--concurrency', '1'];
      expect(await waymark('start', 'items.jsonl', ...slow, '--batch-id', 'orphaned')).toMatchObject({ code: 0 });
      expect(await waymark('status', 'orphaned')).toMatchObject({ code: 0 });
      worker!.kill('SIGKILL');
      await worker!.exited;
      worker = undefined;
      // The server still lists the killed worker as a poller for minutes: only the silence tells.
      const lastSeen = String.raw`\(none answered within 8 s; the last one, \S+, was seen \d+s ago\); start one with \`npx waymark worker\` \(with WAYMARK_TASK_QUEUE=${taskQueue}\)`;
      const killedAt = Date.now();
      expectOneLine(
        await waymark('status', 'orphaned'),
        1,
        new RegExp(
          `^waymark: batch orphaned is running, but it cannot report progress: no worker is polling task queue ${taskQueue} on .+ ${lastSeen}`,
        ),
      );
      expect(Date.now() - killedAt).toBeLessThan(20_000);

      const configuredAt = Date.now();
      const configured = await waymark('configure', 'orphaned', '--concurrency', '2');
      expect(configured.code).toBe(0);
      expect(configured.stderr).toMatch(
        new RegExp(`^waymark: configure of batch orphaned is queued, not applied yet: no worker is polling .+ ${lastSeen}`),
      );
      expect(Date.now() - configuredAt).toBeLessThan(20_000);

      const waiting = spawn(process.execPath, [BIN, 'start', 'items.jsonl', ...slow, '--batch-id', 'orphan-waits', '--wait'], {
        cwd: dir,
        env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...cliEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      waiting.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => waiting.once('exit', resolve));
      const waitStarted = Date.now();
      while (!stderr.includes('no worker is polling')) {
        if (Date.now() - waitStarted > 20_000) throw new Error(`start --wait said nothing of the missing worker within 20 s:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stderr).toMatch(new RegExp(`waymark: no worker is polling task queue ${taskQueue} on .+ ${lastSeen}; waiting for one`));
      waiting.kill('SIGINT');
      expect(await exited).toBe(130);

      // Queued, not lost: a worker that comes back applies the configure.
      worker = await startWorkerProcess(cliEnv);
      const deadline = Date.now() + 60_000;
      let concurrency: unknown;
      while (concurrency !== 2 && Date.now() < deadline) {
        const run = await waymark('status', 'orphaned', '--json');
        if (run.code === 0) concurrency = (JSON.parse(run.stdout) as { concurrency?: number }).concurrency;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(concurrency).toBe(2);
      // And both batches finish with the worker that came back (the killed one's slice after its heartbeat timeout).
      for (const id of ['orphaned', 'orphan-waits'])
        expect(await runCli(['status', id, '--watch'], { cwd: dir, env: cliEnv, timeoutMs: 90_000 })).toMatchObject({ code: 0 });
    });

    it('status of finished batches needs no worker', async () => {
      await stopWorkerProcess(worker);
      worker = undefined;
      const started = Date.now();
      const run = await waymark('status', 'all-ok', '--json');
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout)).toMatchObject({
        status: 'COMPLETED',
        state: 'completed',
        total: 4,
        succeeded: 4,
        failed: 0,
        cursor: 4,
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await waymark('status', 'bad-spec')).toMatchObject({ code: 0, stderr: '' });
    });
  });
});
