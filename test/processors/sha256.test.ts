import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Processor } from '../../src/processors/sha256';
import { ProcessorOptionsError } from '../../src/processors/processor';
import { abortedSignal, makeContext } from './context';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('sha256', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'waymark-sha256-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes a string item as is', async () => {
    await expect(sha256Processor.process('hello', makeContext())).resolves.toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
  });

  it('hashes any other item as its JSON text', async () => {
    await expect(sha256Processor.process({ b: [1, 'x'], a: null }, makeContext())).resolves.toBe(sha256('{"b":[1,"x"],"a":null}'));
    await expect(sha256Processor.process(42, makeContext())).resolves.toBe(sha256('42'));
  });

  it("hashes the file's bytes when the item is a file, ignoring the item", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, 'blob.bin');
    writeFileSync(file, bytes);
    await expect(sha256Processor.process({ name: 'blob.bin' }, makeContext({ file }))).resolves.toBe(sha256(bytes));
  });

  it('fails with the path when the file is missing', async () => {
    const file = join(dir, 'missing.bin');
    await expect(sha256Processor.process({}, makeContext({ file }))).rejects.toThrow(file);
  });

  it('rejects with the abort reason when aborted', async () => {
    const file = join(dir, 'small.bin');
    writeFileSync(file, 'abc');
    const reason = new Error('slice cancelled');
    await expect(sha256Processor.process({}, makeContext({ file, signal: abortedSignal(reason) }))).rejects.toBe(reason);
  });

  it('refuses options', () => {
    expect(() => sha256Processor.validateOptions?.({ encoding: 'base64' })).toThrow(ProcessorOptionsError);
    expect(() => sha256Processor.validateOptions?.({ encoding: 'base64' })).toThrow('"sha256" takes no options, but got "encoding"');
  });
});
