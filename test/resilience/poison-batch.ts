/**
 * A batch over a text file on supervised worker processes that run the crashing-processor
 * fixture: what the poison-item suites run and then inspect.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { makeTempDir } from '../helpers/temp-dir';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { StoredOutcome } from '../../src/ledger/ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import type { BatchSummary } from '../../src/contract/messages';
import { WorkerSupervisor } from './worker-supervisor';
import { allOutcomes } from '../helpers/ledger-rows';

/** Load it with loadProcessorModule in the test process too: `waymark start` checks processor names. */
export const CRASHING_PROCESSOR_MODULE = path.resolve(__dirname, '../fixtures/crashing-processor.js');

export interface PoisonRun {
  summary: BatchSummary;
  /** Every ledger row of the batch, by index. */
  rows: StoredOutcome[];
  /** index -> pids of the worker processes that started it, in order */
  executions: Map<number, string[]>;
  supervisor: WorkerSupervisor;
}

/** Runs `items` lines (`item-0`, ...) to completion; the task queue is named after the batch. */
export async function runPoisonBatch(
  env: TestWorkflowEnvironment,
  batchId: string,
  items: number,
  spec: Omit<BatchSpecInput, 'source'>,
): Promise<PoisonRun> {
  const dir = makeTempDir('waymark-poison-');
  const file = path.join(dir, 'items.txt');
  fs.writeFileSync(file, Array.from({ length: items }, (_, i) => `item-${i}`).join('\n'));
  const executionLog = path.join(dir, 'executions.log');
  fs.writeFileSync(executionLog, '');
  const supervisor = new WorkerSupervisor({
    TEMPORAL_ADDRESS: env.address,
    WAYMARK_DATA_DIR: dir,
    WAYMARK_TASK_QUEUE: batchId,
    WAYMARK_PROCESSORS: CRASHING_PROCESSOR_MODULE,
    WAYMARK_TEST_EXECUTION_LOG: executionLog,
  });
  const ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  try {
    await supervisor.start();
    const handle = await startBatch(env.client, validateSpecForStart({ source: { kind: 'text', path: file }, ...spec }), batchId, batchId);
    const summary = await handle.result();
    if (supervisor.restartError) throw supervisor.restartError;
    const rows = await allOutcomes(ledger, batchId);
    const executions = new Map<number, string[]>();
    for (const line of fs.readFileSync(executionLog, 'utf8').split('\n').filter(Boolean)) {
      const [index, pid] = line.split(' ');
      executions.set(Number(index), [...(executions.get(Number(index)) ?? []), pid]);
    }
    return { summary, rows, executions, supervisor };
  } finally {
    await supervisor.stop();
    await ledger.close();
  }
}
