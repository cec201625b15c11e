/**
 * exec-persistent on the dev server: batches run by the Python and the Node reference clients
 * (examples/persistent), and a command that cannot start failing the batch before any item.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { closeIdlePrograms } from '../../src/processors/exec-persistent';
import { allOutcomes } from '../helpers/ledger-rows';
import { rejectionOf } from '../helpers/rejection';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'persistent-batch';
const ITEMS = 300;
const CLIENTS = path.resolve(__dirname, '../../examples/persistent');

describe('an exec-persistent batch on the dev server', () => {
  const suite = devServerSuite('waymark-persistent-', { beforeTeardown: closeIdlePrograms });
  let items: string;

  beforeAll(() => {
    items = path.join(suite.dir, 'items.txt');
    fs.writeFileSync(items, Array.from({ length: ITEMS }, (_, i) => `item-${i}\n`).join(''));
  });

  const run = (batchId: string, spec: object) =>
    suite.worker(TASK_QUEUE).then((worker) =>
      worker.runUntil(async () => {
        const handle = await startBatch(
          suite.env.client,
          validateSpecForStart({ source: { kind: 'text', path: items }, ...spec }),
          batchId,
          TASK_QUEUE,
        );
        return handle.result();
      }),
    );

  it.each([
    ['Python', 1, [path.join(CLIENTS, 'sha256_client.py')]],
    ['Node', 1, [path.join(CLIENTS, 'sha256-client.js')]],
    ['Python', 10, [path.join(CLIENTS, 'sha256_client.py')]],
  ])('runs every item through the %s reference client (itemsPerCall %d)', async (language, itemsPerCall, command) => {
    const batchId = `persistent-${language}-${itemsPerCall}`;
    const summary = await run(batchId, {
      processor: { name: 'exec-persistent', options: { command } },
      sliceSize: 50,
      checkpointEvery: 100,
      concurrency: 2,
      itemsPerCall,
    });
    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0 });
    const rows = await allOutcomes(suite.ledger, batchId);
    expect(rows).toHaveLength(ITEMS);
    for (const row of rows) expect(row.result).toBe(createHash('sha256').update(`item-${row.index}`).digest('hex'));
  });

  it('fails the batch before any item when the command cannot start', async () => {
    const missing = path.join(suite.dir, 'no-such-client.py');
    const spec = { processor: { name: 'exec-persistent', options: { command: [missing] } } };
    fs.writeFileSync(missing, '#!/usr/bin/env python3\n', { mode: 0o755 }); // exists for `waymark start`, gone before the worker looks
    const worker = await suite.worker(TASK_QUEUE);
    const validated = validateSpecForStart({ source: { kind: 'text', path: items }, ...spec });
    fs.rmSync(missing);
    const err = await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, validated, 'persistent-cannot-start', TASK_QUEUE);
      return rejectionOf(handle.result(), 'the batch to fail');
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error | undefined;
    expect(cause).toMatchObject({ type: 'ProcessorCannotStartError', nonRetryable: true });
    expect(cause?.message).toContain(`processor "exec-persistent" cannot start "${missing}"`);
    expect(await allOutcomes(suite.ledger, 'persistent-cannot-start')).toEqual([]);
  });
});
