/**
 * A chaos run: one batch on a real dev server and real worker processes, interrupted as planned,
 * then checked item by item against its source and its side-effect log. `npm run chaos` is its
 * command line (run-chaos.ts); the CI test calls runChaos directly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient } from '../../src/connection/connect';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import type { Ledger } from '../../src/ledger/ledger';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { maskUrl } from '../../src/mask-secrets';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { ledgerFile } from '../../src/settings';
import { loadProcessorModule } from '../../src/processors/registry';
import type { BatchSpec } from '../../src/contract/batch-spec';
import { ChaosCluster } from './chaos-cluster';
import { resolveChaosOptions, type ChaosOptions } from './chaos-options';
import { planInterruptions } from './chaos-plan';
import { CHAOS_LOG_ENV, CHAOS_PROCESSOR_NAME } from './chaos-processor';
import { judge, type ChaosReport } from './chaos-report';
import { Deadline } from './deadline';
import { readExecutionLog } from './execution-log';
import { runInterruptedBatch } from './interrupted-batch';
import { findPackageRoot } from '../../src/server/install-dir';
import { seededRandom } from './random';
import { attributeRedone, checkItems } from './verify';
import { laneCeiling } from '../../src/contract/adaptive-concurrency';

/** tools/chaos under ts-jest, dist/tools/chaos when built: the package root is found either way. */
const PROJECT_ROOT = findPackageRoot(__dirname);
/** Workers run the built CLI and load the built processor, whichever copy of this file runs. */
const BUILT_CLI = path.join(PROJECT_ROOT, 'dist/src/cli/cli.js');
const BUILT_PROCESSOR = path.join(PROJECT_ROOT, 'dist/tools/chaos/chaos-processor.js');

export async function runChaos(input: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const options = resolveChaosOptions(input);
  const { log } = options;
  for (const file of [BUILT_CLI, BUILT_PROCESSOR]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing; the chaos run's workers run the build: run \`npm run build\` first`);
  }
  const deadline = new Deadline(options.timeoutMs);
  const dataDir = path.resolve(options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-chaos-')));
  fs.mkdirSync(dataDir, { recursive: true });
  const sourceFile = writeSource(dataDir, options.items);
  const executionLog = path.join(dataDir, 'executions.log');
  fs.rmSync(executionLog, { force: true });

  // The spec is validated here as `waymark start` would, which needs the processor registered.
  loadProcessorModule(BUILT_PROCESSOR);
  const spec = validateSpecForStart({
    source: { kind: 'text', path: sourceFile },
    processor: { name: CHAOS_PROCESSOR_NAME, options: { ms: options.itemMs } },
    sliceSize: options.sliceSize,
    checkpointEvery: options.checkpointEvery,
    concurrency: options.concurrency,
    commitGroup: options.commitGroup,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
  });
  // Connected before anything starts, so a wrong ledger URL costs no server start.
  const ledger = await openChaosLedger(options.ledgerUrl, dataDir);
  const plan = planInterruptions(options, seededRandom(options.seed));
  // Unique per run, so workers of another run on the same server never take this run's tasks.
  const runId = `${Date.now().toString(36)}-${options.seed}`;
  const taskQueue = `waymark-chaos-${runId}`;
  const batchId = `chaos-${runId}`;

  log(
    `data dir ${dataDir}; ${describeChaosLedger(options.ledgerUrl, dataDir)}; starting the dev server and ${options.workers} worker process(es)`,
  );
  let cluster: ChaosCluster | undefined;
  let client: Client | undefined;
  try {
    cluster = await ChaosCluster.start({
      dataDir,
      workers: options.workers,
      cli: BUILT_CLI,
      workerEnv: {
        WAYMARK_DATA_DIR: dataDir,
        // Set either way: an empty value keeps a WAYMARK_LEDGER_URL of this shell from the workers
        // when the run itself uses the SQLite ledger.
        WAYMARK_LEDGER_URL: options.ledgerUrl ?? '',
        WAYMARK_TASK_QUEUE: taskQueue,
        WAYMARK_PROCESSORS: BUILT_PROCESSOR,
        [CHAOS_LOG_ENV]: executionLog,
      },
      log,
    });
    client = await connectClient(cluster.address);
    const run = await runInterruptedBatch({ client, cluster, ledger, spec, batchId, taskQueue, plan, executionLog, deadline, log });

    // Each batch's executions get a file of their own; the baseline's go to a fresh one.
    const chaosLog = renameLog(executionLog, batchId);
    const executions = readExecutionLog(chaosLog);
    const check = await checkItems(ledger, batchId, readSource(sourceFile), executions);
    const attribution = attributeRedone(
      executions,
      run.fired.map((f) => f.at),
    );

    let baselineMs: number | undefined;
    if (!options.skipBaseline) {
      baselineMs = await runBaseline(client, spec, `${batchId}-baseline`, taskQueue, deadline, log);
      renameLog(executionLog, `${batchId}-baseline`);
    }
    return judge({
      batchId,
      dataDir,
      seed: options.seed,
      items: options.items,
      workers: options.workers,
      ledger: describeChaosLedger(options.ledgerUrl, dataDir),
      itemMs: options.itemMs,
      concurrency: laneCeiling(spec.concurrency),
      sliceSize: spec.sliceSize,
      checkpointEvery: spec.checkpointEvery,
      commitGroup: spec.commitGroup,
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
      bound: run.summary.resumeCostBound,
      reportedRedone: run.summary.redone,
      interruptions: run.fired.map((f, i) => ({
        kind: f.planned.kind,
        committed: f.committed,
        at: f.at,
        target: f.target,
        backMs: f.backAt - f.at,
        resumeMs: f.resumedAt === undefined ? undefined : f.resumedAt - f.at,
        redone: attribution.redone[i],
      })),
      missed: run.missed,
      unplannedWorkerExits: cluster.unplannedExits,
      check,
      executions: attribution.executions,
      unexplainedRedone: attribution.unexplained,
      durationMs: run.durationMs,
      baselineMs,
    });
  } finally {
    await client?.connection.close();
    await cluster?.stop();
    await ledger.close();
  }
}

/** The ledger the workers share: PostgreSQL when the run was given a URL, else SQLite in the data dir. */
async function openChaosLedger(url: string | undefined, dataDir: string): Promise<Ledger> {
  return url ? PostgresLedger.connect(url) : new SqliteLedger(ledgerFile(dataDir));
}

function describeChaosLedger(url: string | undefined, dataDir: string): string {
  return url ? `PostgreSQL ledger ${maskUrl(url)}` : `SQLite ledger ${ledgerFile(dataDir)}`;
}

/** A text source of `items` distinct lines, one item each. */
function writeSource(dataDir: string, items: number): string {
  const file = path.join(dataDir, `items-${items}.txt`);
  fs.writeFileSync(file, Array.from({ length: items }, (_, i) => `chaos item ${i}\n`).join(''));
  return file;
}

function readSource(file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines;
}

function renameLog(executionLog: string, batchId: string): string {
  const file = path.join(path.dirname(executionLog), `executions-${batchId}.log`);
  fs.renameSync(executionLog, file);
  return file;
}

/** The same batch with nothing interrupted, on the same server and workers: what the interruptions cost. */
async function runBaseline(
  client: Client,
  spec: BatchSpec,
  batchId: string,
  taskQueue: string,
  deadline: Deadline,
  log: (line: string) => void,
): Promise<number> {
  log(`running the uninterrupted baseline, batch ${batchId}`);
  const startedAt = Date.now();
  const handle = await startBatch(client, spec, batchId, taskQueue);
  await deadline.race(handle.result(), 'the baseline batch to finish');
  return Date.now() - startedAt;
}
