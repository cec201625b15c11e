import { sleepProcessor } from '../../src/processors/sleep';
import { ProcessorOptionsError } from '../../src/processors/processor';
import { abortAfter, abortedSignal, makeContext } from './context';

describe('sleep', () => {
  it('waits 1 ms by default and returns null', async () => {
    await expect(sleepProcessor.process('x', makeContext())).resolves.toBeNull();
  });

  it('waits ms milliseconds', async () => {
    const started = Date.now();
    await sleepProcessor.process('x', makeContext({ options: { ms: 60 } }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('rejects with the abort reason as soon as the signal aborts', async () => {
    const reason = new Error('slice cancelled');
    const started = Date.now();
    await expect(sleepProcessor.process('x', makeContext({ options: { ms: 60_000 }, signal: abortAfter(30, reason) }))).rejects.toBe(
      reason,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const reason = new Error('timed out');
    await expect(sleepProcessor.process('x', makeContext({ options: { ms: 60_000 }, signal: abortedSignal(reason) }))).rejects.toBe(reason);
  });

  it('accepts ms = 0 and refuses anything but a non-negative whole number', () => {
    const validate = (options: Record<string, unknown>) => () => sleepProcessor.validateOptions?.(options);
    expect(validate({ ms: 0 })).not.toThrow();
    expect(validate({})).not.toThrow();
    for (const ms of [-1, 1.5, '10', null]) {
      expect(validate({ ms })).toThrow(ProcessorOptionsError);
      expect(validate({ ms })).toThrow(
        `processor "sleep" option "ms" must be a whole number of milliseconds, at least 0; got ${JSON.stringify(ms)}`,
      );
    }
  });

  it('refuses unknown options, listing the known ones', () => {
    expect(() => sleepProcessor.validateOptions?.({ millis: 5 })).toThrow('processor "sleep" has no option "millis"; known options: ms');
  });
});
