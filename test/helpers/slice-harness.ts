/**
 * processSlice in a mocked activity context (no Temporal server): `sliceHarness()` gives each
 * test a temp dir with a real SQLite ledger (beforeEach) and, in afterEach, stops every attempt
 * the test started, closes the ledger and removes the dir. Call it at the top of the test file.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { processSlice, type SliceDeps } from '../../src/activities/process-slice';
import type { ProcessSliceInput, ProcessSliceResult } from '../../src/contract/activity-io';
import type { Ledger, OutcomeToCommit, StoredOutcome } from '../../src/ledger/ledger';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { openSource } from '../../src/sources/open-source';
import { parseBatchSpec, type BatchSpec, type BatchSpecInput } from '../../src/contract/batch-spec';
import type { SliceBounds, SliceHeartbeat } from '../../src/contract/slices';
import { makeTempDir, removeTempDirs } from './temp-dir';
import { allOutcomes } from './ledger-rows';

export interface Attempt {
  env: MockActivityEnvironment;
  heartbeats: SliceHeartbeat[];
  /** What the activity logged at WARN and above: kept, not printed, so test output stays readable. */
  warnings: LogEntry[];
  result: Promise<ProcessSliceResult>;
}

export function makeSpec(sourcePath: string, processorName: string, extra: Partial<BatchSpecInput> = {}): BatchSpec {
  return parseBatchSpec({
    source: { kind: sourcePath.endsWith('.jsonl') ? 'jsonl' : 'text', path: sourcePath },
    processor: { name: processorName },
    // Retries would otherwise wait a second each; the backoff itself is not under test here.
    itemBackoffMs: 0,
    ...extra,
  });
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

export function endOf(slice: SliceBounds): number {
  return slice.start + slice.count;
}

export function succeeded(index: number, result: unknown, attempts = 1): OutcomeToCommit {
  return { index, status: 'succeeded', resultJson: JSON.stringify(result), attempts, startedAt: 1, finishedAt: 2 };
}

export function sliceHarness() {
  let dir: string;
  let ledger: SqliteLedger;
  // Every attempt a test starts, for afterEach to stop.
  const attempts: Attempt[] = [];

  beforeEach(() => {
    dir = makeTempDir('waymark-slice-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });

  afterEach(async () => {
    // A test that failed mid-run must not leave its slice running (heartbeat timer, ledger writes)
    // into the next test; cancelling a finished attempt does nothing.
    const running = attempts.splice(0);
    for (const attempt of running) attempt.env.cancel();
    await Promise.allSettled(running.map((attempt) => attempt.result));
    await ledger.close();
    removeTempDirs();
  });

  function writeSource(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
    return file;
  }

  return {
    get dir() {
      return dir;
    },
    get ledger() {
      return ledger;
    },
    writeSource,

    /** `item-0` ... `item-(n-1)`, one per line. */
    textSource: (n: number): string =>
      writeSource(
        'items.txt',
        Array.from({ length: n }, (_, i) => `item-${i}`),
      ),

    /**
     * Slice number `which` as the window planner cuts it, so its byte offsets are the real ones.
     * Tests use a slice past the first where they can, so an off-by-start bug cannot hide at 0.
     */
    sliceOf: async (spec: BatchSpec, which: number): Promise<SliceBounds> => {
      const source = openSource(spec.source, { dataDir: dir, batchId: 'plan' });
      const plan = await source.planWindow({ index: 0, offset: 0 }, spec.checkpointEvery, spec.sliceSize);
      return plan.slices[which];
    },

    rows: (batchId: string): Promise<StoredOutcome[]> => allOutcomes(ledger, batchId),

    /**
     * One activity attempt of processSlice; `info` is what Temporal would hand a retry (heartbeat
     * details...); `launch`, what the workflow launched it with (lanes, control generation).
     */
    startSlice: (
      batchId: string,
      spec: BatchSpec,
      slice: SliceBounds,
      info: Partial<Info> = {},
      sliceLedger: Ledger = ledger,
      launch: Pick<ProcessSliceInput, 'lanes' | 'controlGeneration'> = {},
    ): Attempt => {
      const warnings: LogEntry[] = [];
      const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('WARN', (entry) => warnings.push(entry)) });
      const heartbeats: SliceHeartbeat[] = [];
      env.on('heartbeat', (details: SliceHeartbeat) => heartbeats.push(details));
      const result = env.run<[SliceDeps, ProcessSliceInput], ProcessSliceResult, typeof processSlice>(
        processSlice,
        { ledger: sliceLedger, dataDir: dir },
        { batchId, spec, slice, ...launch },
      );
      const attempt = { env, heartbeats, warnings, result };
      attempts.push(attempt);
      return attempt;
    },
  };
}
