import { noopProcessor } from '../../src/processors/noop';
import { ProcessorOptionsError } from '../../src/processors/processor';
import { makeContext } from './context';

describe('noop', () => {
  it('returns null for any item', async () => {
    await expect(noopProcessor.process({ a: 1 }, makeContext())).resolves.toBeNull();
    await expect(noopProcessor.process('text', makeContext())).resolves.toBeNull();
  });

  it('refuses options, naming the one given', () => {
    expect(() => noopProcessor.validateOptions?.({})).not.toThrow();
    expect(() => noopProcessor.validateOptions?.({ ms: 5 })).toThrow(ProcessorOptionsError);
    expect(() => noopProcessor.validateOptions?.({ ms: 5 })).toThrow('processor "noop" takes no options, but got "ms"');
  });
});
