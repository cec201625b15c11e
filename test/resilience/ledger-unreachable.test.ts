/**
 * A worker whose PostgreSQL ledger cannot be reached: it says so in one line as it starts and
 * keeps running; a batch started meanwhile shows `ledger unreachable: REASON` in `waymark
 * status`, in `start --wait` and in the Web UI (its pending activity's last failure) within 30 s;
 * once the ledger answers, the batch goes on by itself and completes. The ledger is the test's
 * PostgreSQL server behind a TCP proxy this test opens and closes. [pg]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { findFreePort } from '../../tools/support/free-port';
import { describeWithPostgres, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';
import { runCli } from '../cli/run-cli';

const BIN = path.resolve(__dirname, '../../bin/waymark.js');
const SHOWN_WITHIN_MS = 30_000;

/** A TCP proxy to the real server that the test opens and closes: closed, the ledger refuses connections. */
class LedgerProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
    this.server = undefined;
  }
}

describeWithPostgres('a worker whose PostgreSQL ledger cannot be reached', () => {
  let env: TestWorkflowEnvironment;
  let db: PostgresTestDb;
  let proxy: LedgerProxy;
  let worker: WorkerProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    env = await createDevServerEnv();
    db = new PostgresTestDb(TEST_PG_URL!);
    const real = new URL(TEST_PG_URL!);
    proxy = new LedgerProxy(await findFreePort(), { host: real.hostname, port: Number(real.port || 5432) });
    dir = makeTempDir('waymark-ledger-unreachable-');
  });
  afterAll(async () => {
    await stopWorkerProcess(worker);
    await proxy?.close();
    await db?.dropSchemas();
    await db?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('says so at start and in status, --wait and the Web UI, then goes on by itself once the ledger answers', async () => {
    const schemaUrl = new URL(await db.freshSchema());
    schemaUrl.port = String(proxy.port);
    schemaUrl.hostname = '127.0.0.1';
    const cliEnv = {
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: 'ledger-unreachable',
      WAYMARK_LEDGER_URL: schemaUrl.toString(),
    };
    worker = await startWorkerProcess(cliEnv);
    await waitFor(
      'the worker to say its ledger does not answer',
      () => worker!.output().includes('cannot reach the PostgreSQL ledger'),
      20_000,
    );
    const said = worker
      .output()
      .split('\n')
      .filter((line) => line.includes('cannot reach the PostgreSQL ledger'));
    expect(said).toEqual([
      expect.stringMatching(
        /^waymark worker: cannot reach the PostgreSQL ledger at postgres:\/\/waymark:\*\*\*@127\.0\.0\.1:\d+\/\S+ \(connect ECONNREFUSED .*\).* The worker runs on and tries again every 10 s/,
      ),
    ]);

    fs.writeFileSync(path.join(dir, 'items.jsonl'), `${Array.from({ length: 20 }, (_, i) => JSON.stringify({ i })).join('\n')}\n`);
    const waiting = spawn(process.execPath, [BIN, 'start', 'items.jsonl', '--processor', 'sha256', '--batch-id', 'no-ledger', '--wait'], {
      cwd: dir,
      env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...cliEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let waitOutput = '';
    waiting.stdout.on('data', (d: Buffer) => (waitOutput += d.toString()));
    waiting.stderr.on('data', (d: Buffer) => (waitOutput += d.toString()));
    const exited = new Promise<number | null>((resolve) => waiting.once('exit', resolve));
    const startedAt = Date.now();

    const reason =
      /ledger unreachable: cannot reach the PostgreSQL ledger at postgres:\/\/waymark:\*\*\*@127\.0\.0\.1:\d+\/\S+ \(connect ECONNREFUSED/;
    await waitFor(
      'status to say the ledger is unreachable',
      async () => {
        const run = await runCli(['status', 'no-ledger'], { cwd: dir, env: cliEnv });
        return run.code === 0 && reason.test(run.stdout.split('\n').find((l) => l.startsWith('state')) ?? '');
      },
      SHOWN_WITHIN_MS,
    );
    // --wait's progress line (every 5 s without a terminal) carries the state.
    await waitFor('--wait to say the ledger is unreachable', () => reason.test(waitOutput), SHOWN_WITHIN_MS);
    // The Web UI shows a pending activity's last failure with its attempts.
    const pending = (await env.client.workflow.getHandle('no-ledger').describe()).raw.pendingActivities ?? [];
    expect(pending.map((a) => a.lastFailure?.message)).toContainEqual(
      expect.stringMatching(/^ledger unreachable: cannot reach the PostgreSQL ledger/),
    );
    expect(Date.now() - startedAt).toBeLessThan(SHOWN_WITHIN_MS + 10_000);

    await proxy.open();
    // Temporal retries the activity within 30 s; the batch then runs to its end with nobody's help.
    expect(await exited).toBe(0);
    expect(waitOutput).toContain('batch no-ledger completed');
    await waitFor('the worker to say the ledger answers', () => worker!.output().includes('answers now; batches go on'), 20_000);
    const status = await runCli(['status', 'no-ledger', '--json'], { cwd: dir, env: cliEnv });
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'COMPLETED', succeeded: 20, failed: 0 });
  });
});
