/**
 * Opening the file or folder a source reads, with errors that say what to fix. Every missing,
 * mistyped or forbidden path becomes a SourceUnavailableError, which fails the batch at once:
 * no retry makes a file appear or a folder turn into a file.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { SourceUnavailableError } from './source';
import type { SliceBounds } from '../contract/slices';

export type SourceShape = 'file' | 'folder';

const WHERE_PATHS_RESOLVE = "check source.path in the spec; relative paths are resolved from the worker's working directory";

/**
 * The SourceUnavailableError for a failed fs call on `target`, or `err` itself when it is not
 * about the path (EIO, EMFILE, ...): those may pass, so they stay retryable.
 */
export function unavailable(err: unknown, target: string, shape: SourceShape): unknown {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new SourceUnavailableError(`source ${shape} not found: ${target} (${WHERE_PATHS_RESOLVE})`);
    case 'EACCES':
    case 'EPERM':
      return new SourceUnavailableError(
        shape === 'file'
          ? `source file is not readable: ${target} (permission denied; let the user running the worker read it)`
          : `source folder is not readable: ${target} (permission denied; let the user running the worker list it and read its files)`,
      );
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return new SourceUnavailableError(`source ${shape} cannot be reached: ${target} (${(err as Error).message}; ${WHERE_PATHS_RESOLVE})`);
    default:
      return err;
  }
}

function checkShape(stats: fs.Stats, target: string, shape: SourceShape): void {
  if (shape === 'file') {
    if (stats.isDirectory()) {
      throw new SourceUnavailableError(
        `source.path is a folder, not a file: ${target} (jsonl, text and csv sources read one file; point source.path at a file, or set source.kind to "folder" to process each file in it)`,
      );
    }
    if (!stats.isFile()) {
      // A FIFO would block the worker until something writes to it; a device never ends.
      throw new SourceUnavailableError(
        `source.path is not a regular file: ${target} (it is a pipe, socket or device; point source.path at a regular file)`,
      );
    }
  } else if (!stats.isDirectory()) {
    throw new SourceUnavailableError(
      `source.path is a file, not a folder: ${target} (a folder source processes each file in a folder; point source.path at a folder, or set source.kind to jsonl, text or csv to read this file)`,
    );
  }
}

/** Checks up front, so a batch with a bad source.path stops before any work is planned. */
export function checkSourcePath(target: string, shape: SourceShape): void {
  try {
    checkShape(fs.statSync(target), target, shape);
    // Listing a folder takes search (x) permission as well as read.
    fs.accessSync(target, shape === 'file' ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw err instanceof SourceUnavailableError ? err : unavailable(err, target, shape);
  }
}

/** Opens a source file for reading; checked again here because it may vanish after openSource. */
export async function openSourceFile(target: string): Promise<fsp.FileHandle> {
  try {
    checkShape(await fsp.stat(target), target, 'file');
    return await fsp.open(target, 'r');
  } catch (err) {
    throw err instanceof SourceUnavailableError ? err : unavailable(err, target, 'file');
  }
}

export async function withSourceFile<T>(target: string, use: (file: fsp.FileHandle) => Promise<T>): Promise<T> {
  const file = await openSourceFile(target);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

/**
 * Slices are byte ranges planned earlier, possibly by another worker: if the file no longer
 * matches them, reading on would hand items to the wrong indexes.
 */
export function sourceChanged(target: string, slice: SliceBounds, found: string): SourceUnavailableError {
  return new SourceUnavailableError(
    `source file changed since its window was planned: ${target} (items ${slice.start}-${slice.start + slice.count - 1} were planned at bytes ${slice.startOffset}-${slice.endOffset}, but ${found}); ` +
      'a source must not change while its batch runs: restore the file, or start a new batch',
  );
}

/** Fails before the first item when the file has shrunk below the slice's planned end. */
export async function checkSliceFits(file: fsp.FileHandle, target: string, slice: SliceBounds): Promise<void> {
  const { size } = await file.stat();
  if (size < slice.endOffset) throw sourceChanged(target, slice, `the file is now ${size} bytes`);
}
