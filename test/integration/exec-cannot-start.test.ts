/**
 * A typo in an exec command fails the batch at once, on the dev server: the first window's
 * planWindow finds the program cannot start on the worker and fails non-retryably, so no item
 * spends attempts and backoff on a program that will never run. `waymark start` refuses a
 * program path that does not exist here, and warns only about a name missing from its PATH.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { allOutcomes } from '../helpers/ledger-rows';
import { rejectionOf } from '../helpers/rejection';
import { devServerSuite } from '../helpers/dev-server-suite';

const TASK_QUEUE = 'exec-cannot-start';

describe('an exec batch whose program cannot start', () => {
  const suite = devServerSuite('waymark-exec-start-');
  let items: string;

  beforeAll(() => {
    items = path.join(suite.dir, 'items.txt');
    fs.writeFileSync(items, Array.from({ length: 1000 }, (_, i) => `item-${i}\n`).join(''));
  });

  it("fails the batch in seconds with one message naming the program, not after every item's attempts", async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const spec = validateSpecForStart({
      source: { kind: 'text', path: items },
      processor: { name: 'exec', options: { command: ['pyhton3-waymark-typo', 'score.py'] } },
      sliceSize: 100,
      concurrency: 4,
      itemAttempts: 3,
      itemBackoffMs: 5_000,
    });
    // Not on this machine's PATH: a warning, not a refusal, since workers may run elsewhere.
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('there is no "pyhton3-waymark-typo" on the worker\'s PATH'));
    warn.mockRestore();

    const worker = await suite.worker(TASK_QUEUE);
    const startedAt = Date.now();
    const err = await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, spec, 'typo-batch', TASK_QUEUE);
      return rejectionOf(handle.result(), 'the batch to fail');
    });
    // 1000 items x 3 attempts with 5 s backoffs would take many minutes; one failed planWindow takes seconds.
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error | undefined;
    expect(cause).toMatchObject({ type: 'ProcessorCannotStartError', nonRetryable: true });
    expect(cause?.message).toMatch(
      /^processor "exec" cannot start "pyhton3-waymark-typo" on .+: there is no "pyhton3-waymark-typo" on the worker's PATH \(ENOENT; PATH=.*\)\. Every item would fail the same way, so the batch stops here\. Fix command\[0\] in processor\.options/,
    );
    expect(await allOutcomes(suite.ledger, 'typo-batch')).toEqual([]);
  });

  it('is refused by waymark start when given as a path that does not exist or is not executable here', () => {
    const script = path.join(suite.dir, 'score.sh');
    fs.writeFileSync(script, '#!/bin/sh\ncat\n', { mode: 0o644 });
    const start = (program: string) => () =>
      validateSpecForStart({ source: { kind: 'text', path: items }, processor: { name: 'exec', options: { command: [program] } } });
    expect(start('./no-such-dir/score.sh')).toThrow(`${path.resolve('no-such-dir/score.sh')} does not exist (ENOENT)`);
    expect(start(script)).toThrow(`${script} is not executable (EACCES); make it executable with chmod +x ${script}`);
    fs.chmodSync(script, 0o755);
    expect(start(script)).not.toThrow();
  });
});
