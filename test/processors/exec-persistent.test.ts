/**
 * exec-persistent's protocol, against a fixture program whose items say how it behaves
 * (test/fixtures/persistent-behaviours.js), and the two reference clients under examples/.
 */
import path from 'node:path';
import { isRunning } from '../helpers/process-state';
import { execPersistentProcessor, closeIdlePrograms } from '../../src/processors/exec-persistent';
import { RetryableItemError } from '../../src/processors/errors';
import {
  NonRetryableItemError,
  ProcessorCannotStartError,
  QuotaExhaustedError,
  type ItemOutcome,
  type ProcessorContext,
} from '../../src/processors/processor';
import { abortAfter, makeContext } from './context';
import { rejectionOf } from '../helpers/rejection';

const FIXTURE = path.resolve(__dirname, '../fixtures/persistent-behaviours.js');
const PYTHON_CLIENT = path.resolve(__dirname, '../../examples/persistent/sha256_client.py');
const NODE_CLIENT = path.resolve(__dirname, '../../examples/persistent/sha256-client.js');
const SHA_OF_A = 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb';

let batch = 0;
function runner(command: string[] = [FIXTURE]) {
  const batchId = `persistent-${++batch}`;
  return (item: unknown, ctx: Partial<ProcessorContext> = {}) =>
    execPersistentProcessor.process(item, makeContext({ batchId, options: { command }, ...ctx }));
}
const failure = (promise: Promise<unknown>) => rejectionOf(promise, 'the item to fail');

afterAll(() => closeIdlePrograms());

describe('exec-persistent', () => {
  it('returns results, and one program serves item after item', async () => {
    const run = runner();
    const reportUsage = jest.fn();
    expect(await run('ok:abc', { reportUsage })).toBe('ABC');
    expect(reportUsage).toHaveBeenCalledWith({ tokens: 3, costUsd: 0.001 });
    const pid = await run('pid');
    expect(await run('pid', { index: 2 })).toBe(pid);
  });

  it('maps failures: retryable with its type and stderr tail, non-retryable, and a quota signal', async () => {
    const run = runner();
    const flaky = await failure(run('fail', { attempt: 2 }));
    expect(flaky).toBeInstanceOf(RetryableItemError);
    expect(flaky).toMatchObject({ type: 'flaky', message: 'flaky; stderr: flaky attempt 2' });
    const bad = await failure(run('bad'));
    expect(bad).toBeInstanceOf(NonRetryableItemError);
    expect(bad).toMatchObject({ type: 'bad-input', message: 'bad input' });
    const quota = await failure(run('quota'));
    expect(quota).toBeInstanceOf(QuotaExhaustedError);
    expect((quota as QuotaExhaustedError).retryAfterMs).toBe(2000);
    // The cause status gives a cut of adaptive lanes.
    expect((quota as QuotaExhaustedError).signal).toBe('retryAfterSeconds');
  });

  it('fails an item whose answer is not a response, quoting the line, and replaces the program', async () => {
    const run = runner();
    const pid = await run('pid');
    const err = await failure(run('garbage'));
    expect(err).toBeInstanceOf(RetryableItemError);
    expect(err).toMatchObject({ type: 'persistent-bad-response' });
    expect(err.message).toContain('wrote a line that is not a response for item 0 (not JSON): "hello from print debugging"');
    expect(await run('pid')).not.toBe(pid);
  });

  it('counts a program that dies mid-item as a failed attempt, with its stderr, and starts it again for the next', async () => {
    const run = runner();
    const pid = await run('pid');
    const err = await failure(run('die', { index: 7 }));
    expect(err).toBeInstanceOf(RetryableItemError);
    expect(err).toMatchObject({ type: 'persistent-child-died' });
    expect(err.message).toMatch(/exited \(exit status 3\) while item 7 was in flight.*stderr: dying mid-item/);
    expect(await run('die-once', { attempt: 2 })).toBe('second time lucky');
    expect(await run('pid')).not.toBe(pid);
  });

  it('kills a program that runs past the timeout and starts another for the next item', async () => {
    const run = runner();
    const pid = (await run('pid')) as number;
    const timeout = new Error('item did not finish within 300 ms');
    const startedAt = Date.now();
    expect(await failure(run('hang', { signal: abortAfter(300, timeout) }))).toBe(timeout);
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(await run('pid')).not.toBe(pid);
    // The hung program (and its supervisor's group) is gone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isRunning(pid)).toBe(false);
  });

  it('refuses a command that cannot start, before any item', () => {
    const check = () => execPersistentProcessor.checkCanStart!({ command: ['./no-such-program.py'] });
    expect(check).toThrow(ProcessorCannotStartError);
    expect(check).toThrow(/^processor "exec-persistent" cannot start "\.\/no-such-program\.py" on .+ does not exist \(ENOENT\)/);
    expect(() => execPersistentProcessor.validateOptions!({ command: 'python3 x.py' })).toThrow(
      'processor "exec-persistent" option "command" must be an array',
    );
  });

  it('carries a list of items in one call, one outcome each, or a failure of the call as a whole', async () => {
    const ctx = makeContext({ batchId: 'persistent-calls', options: { command: [FIXTURE] } });
    const calls = ['ok:a', 'bad', 'quota'].map((item, index) => ({ item, index, attempt: 1, idempotencyKey: `persistent-calls:${index}` }));
    const outcomes = (await execPersistentProcessor.processBatch!(calls, ctx)) as Array<ItemOutcome & { error?: Error }>;
    expect(outcomes[0]).toEqual({ result: 'A', usage: { tokens: 3, costUsd: 0.001 } });
    expect(outcomes[1].error).toBeInstanceOf(NonRetryableItemError);
    expect(outcomes[2].error).toBeInstanceOf(QuotaExhaustedError);
    const whole = await failure(execPersistentProcessor.processBatch!([calls[0], { ...calls[1], item: 'call-fail' }], ctx));
    expect(whole).toMatchObject({ type: 'call-failed', message: 'the whole call failed' });
  });

  it.each([
    ['Python', [PYTHON_CLIENT]],
    ['Node', [NODE_CLIENT]],
  ])('talks to the %s reference client, one item and many', async (_language, command) => {
    const run = runner(command);
    expect(await run('a')).toBe(SHA_OF_A);
    const ctx = makeContext({ batchId: `reference-${command[0]}`, options: { command } });
    const outcomes = await execPersistentProcessor.processBatch!(
      ['a', 'a'].map((item, index) => ({ item, index, attempt: 1, idempotencyKey: `k:${index}` })),
      ctx,
    );
    expect(outcomes).toEqual([{ result: SHA_OF_A }, { result: SHA_OF_A }]);
  });
});
