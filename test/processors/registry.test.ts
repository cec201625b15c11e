import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  getProcessor,
  loadProcessorModule,
  processorNames,
  registerProcessor,
  resolveProcessor,
  UnknownProcessorError,
} from '../../src/processors/registry';
import { defineProcessor, ProcessorOptionsError } from '../../src/processors/processor';
import { execProcessor } from '../../src/processors/exec';
import { makeContext } from './context';

const PROCESSOR_SOURCE = join(__dirname, '../../src/processors/processor');

describe('registry', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'waymark-registry-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function moduleFile(name: string, source: string): string {
    const file = join(dir, name);
    writeFileSync(file, source);
    return file;
  }

  it('has the built-ins', () => {
    expect(processorNames()).toEqual(
      expect.arrayContaining(['anthropic-batch', 'exec', 'exec-persistent', 'http', 'noop', 'openai-batch', 'sha256', 'sleep']),
    );
    expect(getProcessor('exec')).toBe(execProcessor);
  });

  describe('getProcessor', () => {
    it('names the unknown processor, lists the known ones and says how to add one', () => {
      expect(() => getProcessor('sha512')).toThrow(UnknownProcessorError);
      expect(() => getProcessor('sha512')).toThrow(
        /^unknown processor "sha512"; known processors: (.+, )?anthropic-batch, exec, exec-persistent, http, noop, openai-batch, sha256, sleep(, .+)?\. To add a processor, write a CommonJS module/,
      );
      expect(() => getProcessor('sha512')).toThrow('loadProcessorModule(path)');
    });
  });

  describe('resolveProcessor', () => {
    it("checks the spec's options before any work", () => {
      expect(resolveProcessor({ name: 'sleep', options: { ms: 5 } })).toBe(getProcessor('sleep'));
      expect(resolveProcessor({ name: 'noop' })).toBe(getProcessor('noop'));
      expect(() => resolveProcessor({ name: 'exec', options: { command: 'ls -l' } })).toThrow(ProcessorOptionsError);
      expect(() => resolveProcessor({ name: 'nope' })).toThrow(UnknownProcessorError);
    });
  });

  describe('registerProcessor', () => {
    const upper = defineProcessor(async (item) => String(item).toUpperCase());

    it('registers a processor under a name, and the same one again harmlessly', async () => {
      registerProcessor('upper', upper);
      registerProcessor('upper', upper);
      await expect(getProcessor('upper').process('abc', makeContext())).resolves.toBe('ABC');
    });

    it('refuses a different processor under a taken name', () => {
      const other = defineProcessor(async () => 1);
      expect(() => registerProcessor('sha256', other)).toThrow(
        'cannot register processor "sha256": a different processor is already registered under that name; choose another name',
      );
      expect(getProcessor('sha256')).not.toBe(other);
    });

    it('refuses things that are not processors, and empty names', () => {
      expect(() => registerProcessor('bad', { run: async () => 1 } as never)).toThrow('it is not a processor');
      expect(() => registerProcessor(' ', upper)).toThrow('its name must be a non-empty string');
    });
  });

  describe('loadProcessorModule', () => {
    it('registers named exports made with defineProcessor, by export name', async () => {
      const file = moduleFile(
        'named.js',
        `const { defineProcessor, NonRetryableItemError } = require(${JSON.stringify(PROCESSOR_SOURCE)});
         exports.reverse = defineProcessor(async (item) => String(item).split('').reverse().join(''));
         exports.strictLength = defineProcessor(async (item) => {
           if (typeof item !== 'string') throw new NonRetryableItemError('not a string', 'not-a-string');
           return item.length;
         });
         exports.VERSION = '1.0';`,
      );
      expect(loadProcessorModule(file)).toEqual(['reverse', 'strictLength']);
      await expect(getProcessor('reverse').process('abc', makeContext())).resolves.toBe('cba');
      await expect(getProcessor('strictLength').process(5, makeContext())).rejects.toMatchObject({ type: 'not-a-string' });
      expect(processorNames()).not.toContain('VERSION');
    });

    it('opens a default export object, and takes a path relative to the current directory', () => {
      const file = moduleFile(
        'default-object.js',
        `Object.defineProperty(exports, '__esModule', { value: true });
         exports.default = { double: { process: async (n) => n * 2 }, triple: { process: async (n) => n * 3 } };`,
      );
      expect(loadProcessorModule(relative(process.cwd(), file))).toEqual(['double', 'triple']);
    });

    it("registers a module that is one processor under the file's name", async () => {
      const file = moduleFile('word-count.js', `module.exports = { process: async (item) => String(item).split(/\\s+/).length };`);
      expect(loadProcessorModule(file)).toEqual(['word-count']);
      await expect(getProcessor('word-count').process('a b c', makeContext())).resolves.toBe(3);
    });

    it('loads the same module twice harmlessly', () => {
      const file = moduleFile('twice.js', `exports.twice = { process: async () => 2 };`);
      expect(loadProcessorModule(file)).toEqual(['twice']);
      expect(loadProcessorModule(file)).toEqual(['twice']);
    });

    it('says so when the file is missing', () => {
      expect(() => loadProcessorModule('no/such/processors.js')).toThrow(
        `processor module ${join(process.cwd(), 'no/such/processors.js')} (from "no/such/processors.js") does not exist; pass a path to a .js file`,
      );
    });

    it('says so when the path is a folder', () => {
      const folder = join(dir, 'folder');
      mkdirSync(folder);
      expect(() => loadProcessorModule(folder)).toThrow(`processor module ${folder} is not a file`);
    });

    it('says so when the module exports no processor, listing what it exports', () => {
      const file = moduleFile('helpers.js', `exports.helper = () => 1; exports.typo = { proccess: async () => 1 };`);
      expect(() => loadProcessorModule(file)).toThrow(`processor module ${file} exports no processor (its exports: helper, typo)`);
      expect(() => loadProcessorModule(file)).toThrow('async process(item, ctx) function');
    });

    it('says so when the module does not load', () => {
      const file = moduleFile('broken.js', `exports.x = {;`);
      expect(() => loadProcessorModule(file)).toThrow(`processor module ${file} failed to load: `);
    });

    it('registers nothing from a module when one export clashes with a registered processor', () => {
      const file = moduleFile('clash.js', `exports.fresh = { process: async () => 1 }; exports.sha256 = { process: async () => 2 };`);
      expect(() => loadProcessorModule(file)).toThrow(
        `processor module ${file} cannot register its export "sha256": a different processor is already registered under that name`,
      );
      expect(processorNames()).not.toContain('fresh');
    });

    it('refuses a module exporting two different processors under one name', () => {
      const file = moduleFile(
        'dupe.js',
        `exports.same = { process: async () => 1 }; exports.default = { same: { process: async () => 2 } };`,
      );
      expect(() => loadProcessorModule(file)).toThrow('exports two different processors named "same"; rename one');
    });
  });
});
