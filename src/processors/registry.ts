/**
 * The processors a worker can run, by the name a batch spec gives in `processor.name`.
 * The built-ins are always there; anything else comes from a processor module: a JS file
 * whose exports are processors, loaded into the worker with loadProcessorModule. Modules are
 * loaded with require, so CommonJS works on any Node 20, ES modules from Node 20.19 on.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { ProcessorSpec } from '../contract/batch-spec';
import type { Processor } from './processor';
import { execProcessor } from './exec';
import { execPersistentProcessor } from './exec-persistent';
import { httpProcessor } from './http/http';
import { openAiBatchProcessor } from './provider-batch/openai-batch';
import { anthropicBatchProcessor } from './provider-batch/anthropic-batch';
import { noopProcessor } from './noop';
import { sha256Processor } from './sha256';
import { sleepProcessor } from './sleep';

const HOW_TO_ADD =
  'To add a processor, write a CommonJS module that exports it, e.g. ' +
  '`exports.upper = defineProcessor(async (item, ctx) => String(item).toUpperCase())` ' +
  '(any object with an async process(item, ctx) function will do), and load it in the worker with loadProcessorModule(path)';

const processors = new Map<string, Processor>([
  ['exec', execProcessor],
  ['exec-persistent', execPersistentProcessor],
  ['http', httpProcessor],
  ['openai-batch', openAiBatchProcessor],
  ['anthropic-batch', anthropicBatchProcessor],
  ['noop', noopProcessor],
  ['sha256', sha256Processor],
  ['sleep', sleepProcessor],
]);

/** Names of every registered processor, sorted. */
export function processorNames(): string[] {
  return [...processors.keys()].sort();
}

/** A spec names a processor this worker does not have; no retry can fix that. */
export class UnknownProcessorError extends Error {
  constructor(readonly processorName: string) {
    super(`unknown processor "${processorName}"; known processors: ${processorNames().join(', ')}. ${HOW_TO_ADD}`);
    this.name = 'UnknownProcessorError';
  }
}

/** Throws UnknownProcessorError for a name nothing registered. */
export function getProcessor(name: string): Processor {
  const processor = processors.get(name);
  if (processor === undefined) throw new UnknownProcessorError(name);
  return processor;
}

/**
 * The spec's processor with its options checked, so a bad spec is refused before any work (INVARIANTS.md I9).
 * Throws UnknownProcessorError or ProcessorOptionsError.
 */
export function resolveProcessor(spec: ProcessorSpec): Processor {
  const processor = getProcessor(spec.name);
  processor.validateOptions?.(spec.options ?? {});
  return processor;
}

/** Registering the same processor again is harmless, so loading a module twice is too. */
export function registerProcessor(name: string, processor: Processor): void {
  const problem = registrationProblem(name, processor);
  if (problem !== undefined) throw new Error(`cannot register processor "${name}": ${problem}`);
  processors.set(name, processor);
}

function registrationProblem(name: string, processor: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') {
    return 'its name must be a non-empty string, the one batch specs give as processor.name';
  }
  if (!isProcessor(processor)) {
    return 'it is not a processor; pass an object with an async process(item, ctx) function, as made by defineProcessor';
  }
  const existing = processors.get(name);
  if (existing !== undefined && existing !== processor) {
    return 'a different processor is already registered under that name; choose another name';
  }
  return undefined;
}

function isProcessor(value: unknown): value is Processor {
  if (typeof value !== 'object' || value === null) return false;
  const { process, validateOptions, checkCanStart, processBatch, providerBatch } = value as Record<string, unknown>;
  const optionalFunction = (hook: unknown) => hook === undefined || typeof hook === 'function';
  return (
    typeof process === 'function' &&
    optionalFunction(validateOptions) &&
    optionalFunction(checkCanStart) &&
    optionalFunction(processBatch) &&
    optionalFunction(providerBatch)
  );
}

/**
 * Loads a processor module and registers each processor it exports under its export name:
 * named exports (`exports.upper = ...`) and the properties of a default export object
 * (`export default { upper }` compiled to CommonJS). A module that exports one processor as a
 * whole (`module.exports = defineProcessor(...)`, or `export default`) registers it under the
 * file's name without extension. Exports that are not processors are ignored, so a module may
 * export helpers too. Either every processor of the module is registered or none is.
 *
 * @param path absolute, or relative to the current directory
 * @returns the registered names, sorted
 */
export function loadProcessorModule(path: string): string[] {
  const file = resolve(path);
  const fail = (problem: string): never => {
    throw new Error(`processor module ${file}${file === path ? '' : ` (from "${path}")`} ${problem}`);
  };

  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    return fail(`does not exist; pass a path to a .js file, absolute or relative to the current directory (${process.cwd()})`);
  }
  if (!isFile) fail('is not a file; pass the path of the module file itself, e.g. processors/index.js');

  let moduleExports: unknown;
  try {
    // The user's processor module, named at run time: a static import cannot name it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    moduleExports = require(file);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'ERR_REQUIRE_ESM') {
      fail(
        'is an ES module, which this Node version cannot require; write it as CommonJS (exports.name = ...) or run the worker on Node 20.19 or later',
      );
    }
    fail(`failed to load: ${message}; fix the module and restart the worker`);
  }

  const found = exportedEntries(moduleExports, basename(file, extname(file)));
  const exported = found.filter((entry): entry is [string, Processor] => isProcessor(entry[1]));
  if (exported.length === 0) {
    const names = found.map(([name]) => name);
    fail(
      `exports no processor (its exports: ${names.length === 0 ? 'none' : names.join(', ')}). ` +
        'Each processor must be an object with an async process(item, ctx) function. ' +
        HOW_TO_ADD,
    );
  }
  const byName = new Map<string, Processor>();
  for (const [name, processor] of exported) {
    if (byName.has(name) && byName.get(name) !== processor) {
      fail(`exports two different processors named "${name}"; rename one`);
    }
    byName.set(name, processor);
    const problem = registrationProblem(name, processor);
    if (problem !== undefined) fail(`cannot register its export "${name}": ${problem}`);
  }
  byName.forEach((processor, name) => processors.set(name, processor));
  return [...byName.keys()].sort();
}

/** The module's exports as (name, value) pairs, the default export opened up as described above. */
function exportedEntries(moduleExports: unknown, fileName: string): Array<[string, unknown]> {
  if (isProcessor(moduleExports)) return [[fileName, moduleExports]];
  if (typeof moduleExports !== 'object' || moduleExports === null) return [];
  const entries: Array<[string, unknown]> = [];
  for (const [name, value] of Object.entries(moduleExports)) {
    if (name !== 'default') entries.push([name, value]);
    else if (isProcessor(value)) entries.push([fileName, value]);
    else if (typeof value === 'object' && value !== null) entries.push(...Object.entries(value as Record<string, unknown>));
  }
  return entries;
}
