/**
 * What `waymark status` and `--wait` count from this machine's ledger (src/cli/batch-progress.ts):
 * the batch's committed outcomes, right as the cursor moves, and each read counts only the items
 * the cursor passed since the last one and those after it, never the whole batch again.
 */
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { ProgressReader } from '../../src/cli/batch-progress';
import type { BatchProgress } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { bad, ok } from '../ledger/ledger-contract';

afterAll(removeTempDirs);

/** A workflow as the reader sees it: its progress query answers `cursor`, and each answer is a new state. */
function fakeHandle(progress: () => BatchProgress) {
  let state = 0;
  return {
    workflowId: 'counted',
    client: { options: { loadedDataConverter: undefined } },
    describe: async () => ({ runId: 'run', historyLength: ++state, typedSearchAttributes: { get: () => undefined }, raw: {} }),
    query: async () => progress(),
  } as unknown as WorkflowHandle<typeof batchWorkflow>;
}

it('counts what the ledger holds as the cursor moves, each item once across reads', async () => {
  const ledger = new SqliteLedger(path.join(makeTempDir('waymark-progress-counts-'), 'ledger.sqlite'));
  await ledger.saveBatch({ batchId: 'counted', spec: { source: { kind: 'text', path: '/x' } } });
  let cursor = 0;
  const reader = new ProgressReader(
    fakeHandle(() => ({
      state: 'running',
      succeeded: 0,
      failed: 0,
      redone: 0,
      cursor,
      runs: 1,
      slicesInFlight: 1,
      resumeCostBound: 8,
      startedAt: 0,
      concurrency: 8,
      sliceSize: 100,
    })),
    ledger,
  );
  const ranges: [number, number][] = [];
  const tally = ledger.tally.bind(ledger);
  ledger.tally = (batchId, from, to) => {
    ranges.push([from, to]);
    return tally(batchId, from, to);
  };
  const commit = (from: number, to: number) =>
    ledger.commit(
      'counted',
      0,
      Array.from({ length: to - from }, (_, i) => ((from + i) % 10 === 0 ? bad(from + i) : ok(from + i))),
      null,
    );
  const read = async () => {
    ranges.length = 0;
    const { succeeded, failed } = await reader.read();
    return { succeeded, failed };
  };

  await commit(0, 150);
  expect(await read()).toEqual({ succeeded: 135, failed: 15 });
  cursor = 100;
  await commit(150, 300);
  expect(await read()).toEqual({ succeeded: 270, failed: 30 });
  expect(ranges.map(([from]) => from)).toEqual([0, 100]);
  cursor = 250;
  await commit(300, 320);
  expect(await read()).toEqual({ succeeded: 288, failed: 32 });
  // Only the items the cursor passed since the last read, and those after it: not [0, 250) again.
  expect(ranges).toEqual([
    [100, 250],
    [250, Number.MAX_SAFE_INTEGER],
  ]);
  cursor = 250;
  expect(await read()).toEqual({ succeeded: 288, failed: 32 });
  expect(ranges).toEqual([[250, Number.MAX_SAFE_INTEGER]]);
  await ledger.close();
});
