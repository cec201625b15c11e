/**
 * A folder: item i is the i-th file under it, recursively, in byte order of the relative path
 * ('/' separators). Its value is that relative path; `file` is the absolute path to read.
 *
 * A folder has no byte offsets and its listing may change under a running batch, so the first
 * use writes the listing to a snapshot file, one JSON string per line, and from then on the
 * batch reads only the snapshot, through the line machinery: indexes stay fixed for the whole
 * batch and slices seek like any line file. The snapshot is keyed by batch id, as the ledger is.
 */
import { randomUUID, createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Source, SourceItem } from './source';
import { SourceUnavailableError } from './source';
import { unavailable } from './source-file';
import { LineSource, type LineParser } from './line-source';
import type { SliceCut } from './window-planner';
import { DEFAULTS } from '../contract/batch-spec';
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

const SLASH = Buffer.from('/');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Flush the listing to disk in writes of about this size. */
const WRITE_BYTES = 1024 * 1024;

/** Where the listing of batch `batchId` is kept under the worker's data directory. */
export function snapshotPath(dataDir: string, batchId: string): string {
  // Workflow ids may hold '/' or be up to 1000 bytes; file names may hold neither.
  const name = encodeURIComponent(batchId);
  const safe = name.length <= 200 ? name : `${name.slice(0, 100)}-${createHash('sha256').update(batchId).digest('hex')}`;
  return path.join(dataDir, 'sources', `${safe}.files`);
}

export class FolderSource implements Source {
  private listing?: Promise<LineSource>;

  constructor(
    private readonly root: string,
    private readonly snapshot: string,
  ) {}

  async countItems(): Promise<number> {
    return (await this.lines()).countItems();
  }

  async planWindow(from: SourcePosition, maxItems: number, cut: SliceCut): Promise<WindowPlan> {
    return (await this.lines()).planWindow(from, maxItems, cut);
  }

  async *readSlice(slice: SliceBounds): AsyncGenerator<SourceItem> {
    yield* (await this.lines()).readSlice(slice);
  }

  private lines(): Promise<LineSource> {
    this.listing ??= ensureSnapshot(this.root, this.snapshot).then(
      // Snapshot lines are paths we wrote ourselves; the default item limit is far above PATH_MAX.
      () => new LineSource(this.snapshot, DEFAULTS.maxItemBytes, listedFile(this.root)),
    );
    return this.listing;
  }
}

function listedFile(root: string): LineParser {
  return (text) => {
    const entry = JSON.parse(text) as string | { invalidName: string };
    if (typeof entry === 'string') return { value: entry, file: path.join(root, entry) };
    return {
      parseError: `file ${JSON.stringify(entry.invalidName)} under ${root} has a name that is not valid UTF-8, so it cannot be handed to a processor (rename it)`,
    };
  };
}

/**
 * Writes the snapshot unless it exists. It is written to a temp file and then hard-linked into
 * place: a crash leaves no half snapshot, and unlike rename, link fails when another worker got
 * there first, so every worker of the batch uses the first listing, never a later one.
 */
async function ensureSnapshot(root: string, snapshot: string): Promise<void> {
  if (await exists(snapshot)) return;
  await fsp.mkdir(path.dirname(snapshot), { recursive: true });
  const temp = `${snapshot}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const out = await fsp.open(temp, 'wx');
    try {
      let pending: string[] = [];
      let pendingBytes = 0;
      for await (const relative of listFiles(Buffer.from(root), null)) {
        const line = `${snapshotLine(relative)}\n`;
        pending.push(line);
        pendingBytes += line.length;
        if (pendingBytes >= WRITE_BYTES) {
          await out.appendFile(pending.join(''));
          pending = [];
          pendingBytes = 0;
        }
      }
      await out.appendFile(pending.join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.link(temp, snapshot).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** One JSON value per line keeps names with newlines in them on one line. */
function snapshotLine(relative: Buffer): string {
  try {
    return JSON.stringify(utf8.decode(relative));
  } catch {
    return JSON.stringify({ invalidName: relative.toString('utf8') });
  }
}

/**
 * Relative paths of the files under `dir`, in byte order of the whole relative path, produced
 * one folder at a time so a huge tree is never held in memory. Ordering a subfolder by its name
 * plus '/' is what makes this the global order: "a.txt" < "a/x" because '.' < '/'.
 * Names are bytes (Buffers) so a name that is not UTF-8 still reaches the listing.
 */
async function* listFiles(dir: Buffer, relativeDir: Buffer | null): AsyncGenerator<Buffer> {
  const entries: { key: Buffer; absolute: Buffer; relative: Buffer; isFolder: boolean }[] = [];
  for (const entry of await readFolder(dir, relativeDir)) {
    const absolute = Buffer.concat([dir, SLASH, entry.name]);
    const kind = await entryKind(entry, absolute);
    if (kind === 'skip') continue;
    const isFolder = kind === 'folder';
    entries.push({
      key: isFolder ? Buffer.concat([entry.name, SLASH]) : entry.name,
      absolute,
      relative: relativeDir === null ? entry.name : Buffer.concat([relativeDir, SLASH, entry.name]),
      isFolder,
    });
  }
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  for (const entry of entries) {
    if (entry.isFolder) yield* listFiles(entry.absolute, entry.relative);
    else yield entry.relative;
  }
}

async function readFolder(dir: Buffer, relativeDir: Buffer | null): Promise<Dirent<Buffer>[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    if (relativeDir === null) throw unavailable(err, dir.toString(), 'folder');
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new SourceUnavailableError(
        `cannot list ${dir.toString()} inside the source folder: permission denied (let the user running the worker list it, or move it out of the source folder)`,
      );
    }
    throw err;
  }
}

/**
 * Regular files are items, and so are symlinks to them. Symlinks to folders are not followed,
 * so a link cycle cannot loop the listing; broken links, pipes, sockets and devices are skipped
 * because there is nothing a processor could read from them.
 */
async function entryKind(entry: Dirent<Buffer>, absolute: Buffer): Promise<'file' | 'folder' | 'skip'> {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'skip';
  try {
    return (await fsp.stat(absolute)).isFile() ? 'file' : 'skip';
  } catch {
    return 'skip';
  }
}
