import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSource } from '../../src/sources/open-source';
import { SourceUnavailableError } from '../../src/sources/source';
import type { SourceKind } from '../../src/contract/batch-spec';
import { readAll, removeTempDirs, tempDir, writeTemp } from './helpers';

const ctx = { dataDir: tempDir(), batchId: 'open-test' };

function open(kind: SourceKind, target: string) {
  return openSource({ kind, path: target }, ctx);
}

/** The error openSource throws, so its type and message can both be checked. */
function openError(kind: SourceKind, target: string): Error {
  try {
    open(kind, target);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`openSource(${kind}, ${target}) did not throw`);
}

afterAll(removeTempDirs);

describe('openSource', () => {
  it.each(['jsonl', 'text', 'csv'] as const)('refuses a missing %s file, naming its absolute path', (kind) => {
    const missing = path.join(tempDir(), 'nope.txt');
    const err = openError(kind, missing);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toBe(
      `source file not found: ${missing} (check source.path in the spec; relative paths are resolved from the worker's working directory)`,
    );
  });

  it('resolves a relative path from the working directory in the message', () => {
    const err = openError('jsonl', 'no/such/items.jsonl');
    expect(err.message).toContain(`source file not found: ${path.resolve('no/such/items.jsonl')} `);
  });

  it('refuses a missing folder', () => {
    const missing = path.join(tempDir(), 'gone');
    expect(openError('folder', missing).message).toBe(
      `source folder not found: ${missing} (check source.path in the spec; relative paths are resolved from the worker's working directory)`,
    );
  });

  it.each(['jsonl', 'text', 'csv'] as const)('refuses a folder given as a %s file', (kind) => {
    const dir = tempDir();
    const err = openError(kind, dir);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toBe(
      `source.path is a folder, not a file: ${dir} (jsonl, text and csv sources read one file; point source.path at a file, or set source.kind to "folder" to process each file in it)`,
    );
  });

  it('refuses a file given as a folder', () => {
    const file = writeTemp(tempDir(), 'items.jsonl', '{}\n');
    const err = openError('folder', file);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toMatch(/^source\.path is a file, not a folder: .*items\.jsonl \(.*point source\.path at a folder/);
  });

  it('refuses a path through a file as not found', () => {
    const file = writeTemp(tempDir(), 'plain.txt', 'x');
    expect(openError('text', path.join(file, 'inside.txt'))).toBeInstanceOf(SourceUnavailableError);
  });

  it('reports a file deleted after opening when it is read', async () => {
    const file = writeTemp(tempDir(), 'brief.txt', 'a\nb\n');
    const source = open('text', file);
    const plan = await source.planWindow({ index: 0, offset: 0 }, 10, 10);
    fs.rmSync(file);
    await expect(source.countItems()).rejects.toThrow(SourceUnavailableError);
    await expect(readAll(source, plan.slices[0])).rejects.toThrow(`source file not found: ${file} `);
  });

  // Root reads any file whatever its mode, so the permission check can only be seen as another user.
  const asNonRoot = process.getuid?.() === 0 ? it.skip : it;
  asNonRoot('refuses a file the worker may not read', () => {
    const file = writeTemp(tempDir(), 'secret.txt', 'x');
    fs.chmodSync(file, 0o000);
    const err = openError('text', file);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toBe(`source file is not readable: ${file} (permission denied; let the user running the worker read it)`);
  });
});
