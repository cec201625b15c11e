/**
 * What the cluster suite runs a batch with: a JSONL source with some malformed lines, the chaos
 * run's side-effect-logging processor in real worker processes, a start through the raw
 * `temporal workflow start`, and the measures taken afterwards (history events per run).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError, type Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { requireTemporalCli } from '../../src/server/resolve-binaries';
import { CHAOS_LOG_ENV, CHAOS_PROCESSOR_NAME } from '../../tools/chaos/chaos-processor';
import { startWorkerProcess, type WorkerProcess } from '../../tools/support/worker-process';
import { BUILT_CLI } from '../helpers/worker-process';
import type { BatchSummary } from '../../src/contract/messages';

const ROOT = path.resolve(__dirname, '../..');
export const BUILT_PROCESSOR = path.join(ROOT, 'dist/tools/chaos/chaos-processor.js');
const WORKER_STOP_GRACE_MS = 15_000;

export interface JsonlSource {
  file: string;
  /** Per index, the item the processor receives (malformed lines: the raw line). */
  items: string[];
  /** Indexes of the lines that are not JSON: each must become a `parse` failure. */
  malformed: number[];
}

/** Item i is the JSON string "cluster item i"; every `malformedEvery`-th line (from the middle of the first stretch) is cut-off JSON. */
export function writeJsonlSource(dir: string, count: number, malformedEvery: number): JsonlSource {
  const items: string[] = [];
  const malformed: number[] = [];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % malformedEvery === Math.floor(malformedEvery / 2)) {
      const line = `{"item": ${i}, "cut": "off`;
      malformed.push(i);
      items.push(line);
      lines.push(line);
    } else {
      items.push(`cluster item ${i}`);
      lines.push(JSON.stringify(`cluster item ${i}`));
    }
  }
  const file = path.join(dir, `items-${count}.jsonl`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, items, malformed };
}

export interface RigSpec {
  itemMs: number;
  sliceSize: number;
  checkpointEvery: number;
  concurrency: number;
  heartbeatTimeoutMs: number;
}

/** The batch spec file `temporal workflow start --input-file` reads (defaults applied inside the workflow). */
export function writeSpecFile(dir: string, source: JsonlSource, spec: RigSpec): string {
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      source: { kind: 'jsonl', path: source.file },
      processor: { name: CHAOS_PROCESSOR_NAME, options: { ms: spec.itemMs } },
      sliceSize: spec.sliceSize,
      checkpointEvery: spec.checkpointEvery,
      concurrency: spec.concurrency,
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
    }),
  );
  return file;
}

/**
 * `temporal workflow start` as a user types it, with waymark's search attributes set at the
 * start (the workflow keeps them up to date only when it starts with them).
 */
export function startWithTemporalCli(address: string, batchId: string, taskQueue: string, specFile: string): Promise<string> {
  const args = [
    'workflow',
    'start',
    '--address',
    address,
    '--namespace',
    'default',
    '--type',
    'batchWorkflow',
    '--task-queue',
    taskQueue,
    '--workflow-id',
    batchId,
    '--input-file',
    specFile,
    '--search-attribute',
    'WaymarkStatus="planning"',
    '--search-attribute',
    'WaymarkSucceeded=0',
    '--search-attribute',
    'WaymarkFailed=0',
  ];
  return new Promise((resolve, reject) => {
    execFile(
      requireTemporalCli(),
      args,
      { timeout: 60_000, env: { ...process.env, TEMPORAL_CONFIG_FILE: '/nonexistent/waymark-test.toml' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`temporal ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** Worker processes (`node dist/src/cli/cli.js worker`), each logging to `worker-<slot>.log` in `logDir`. */
export class WorkerPool {
  private readonly workers: WorkerProcess[] = [];

  private constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  static async start(count: number, env: Record<string, string>, logDir: string): Promise<WorkerPool> {
    const pool = new WorkerPool(env, logDir);
    try {
      for (let slot = 0; slot < count; slot++) pool.workers.push(await pool.spawn(slot));
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  static workerEnv(address: string, ledgerUrl: string, taskQueue: string, dataDir: string, executionLog: string): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      WAYMARK_LEDGER_URL: ledgerUrl,
      WAYMARK_TASK_QUEUE: taskQueue,
      WAYMARK_DATA_DIR: dataDir,
      WAYMARK_PROCESSORS: BUILT_PROCESSOR,
      [CHAOS_LOG_ENV]: executionLog,
    };
  }

  get size(): number {
    return this.workers.length;
  }

  /** The slot whose process is `pid`, if it is one of the current workers. */
  slotOf(pid: number): number | undefined {
    const slot = this.workers.findIndex((w) => w.pid === pid && !w.hasExited());
    return slot < 0 ? undefined : slot;
  }

  /** Workers that died without being told to; a worker must survive any server outage. */
  exitedUnplanned(): number[] {
    return this.workers.flatMap((w, slot) => (w.hasExited() ? [slot] : []));
  }

  /** SIGKILLs worker `slot`, waits for it to die, starts a replacement and waits until it is ready. */
  async killAndReplace(slot: number): Promise<{ pid: number; at: number; replacement: number }> {
    const worker = this.workers[slot];
    const at = Date.now();
    worker.kill('SIGKILL');
    await worker.exited;
    this.workers[slot] = await this.spawn(slot);
    return { pid: worker.pid, at, replacement: this.workers[slot].pid };
  }

  /** SIGTERM (a worker drains its slices), SIGKILL after a grace period. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        await worker.stop(WORKER_STOP_GRACE_MS);
      }),
    );
  }

  private spawn(slot: number): Promise<WorkerProcess> {
    return startWorkerProcess({ cli: BUILT_CLI, env: this.env, logFile: path.join(this.logDir, `worker-${slot}.log`) });
  }
}

/** The batch's result, asked again while the cluster is being interrupted on purpose. */
export async function resultDespiteOutages(client: Client, batchId: string, deadline: number): Promise<BatchSummary> {
  for (;;) {
    try {
      return await client.workflow.getHandle(batchId).result();
    } catch (err) {
      if (!(err instanceof ServiceError) || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/**
 * Events in each run of the batch's continue-as-new chain, first run first: walked back from
 * the latest run through each run's `continuedExecutionRunId`, so visibility is not involved.
 */
export async function historyEventsPerRun(client: Client, batchId: string): Promise<number[]> {
  const counts: number[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(batchId).describe()).runId;
  while (runId) {
    const events: temporal.api.history.v1.IHistoryEvent[] = (await client.workflow.getHandle(batchId, runId).fetchHistory()).events ?? [];
    counts.unshift(events.length);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return counts;
}
