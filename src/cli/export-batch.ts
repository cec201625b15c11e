/**
 * `waymark export`: the ledger's outcomes of one batch as files a user can hand on. Like Step
 * Functions' ResultWriter, manifest.json lists one file per outcome, SUCCEEDED, FAILED and
 * PENDING (items without an outcome, which only a batch that stopped early has), with the
 * number of items in each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Ledger, StoredOutcome } from '../ledger/ledger';
import type { BatchManifest } from '../contract/activity-io';
import { CliError } from '../user-error';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportedFiles = Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { file: string; items: number }>;

/** The batch's manifest, plus the files of this export. */
export interface ExportManifest extends BatchManifest {
  files: ExportedFiles;
}

export interface ExportResult {
  dir: string;
  results: number;
  failures: number;
  pending: number;
  manifest: ExportManifest;
}

type Row = Record<string, unknown>;

export async function exportBatch(ledger: Ledger, batchId: string, outDir: string, format: ExportFormat = 'jsonl'): Promise<ExportResult> {
  const record = await ledger.batch(batchId);
  if (!record) {
    throw new CliError(
      `no batch "${batchId}" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir`,
    );
  }
  if (!record.manifest) {
    throw new CliError(`batch "${batchId}" has not finished yet; wait for it (\`waymark status ${batchId} --watch\`) and export again`);
  }
  const batchManifest = record.manifest as BatchManifest;
  checkOutDir(outDir);
  try {
    fs.mkdirSync(outDir, { recursive: true });
    fs.accessSync(outDir, fs.constants.W_OK);
  } catch (err) {
    throw new CliError(
      `cannot write to ${outDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give --out a folder you can write to`,
    );
  }
  const write = (name: string, columns: string[], rows: AsyncIterable<Row>) =>
    writeRows(path.join(outDir, `${name}.${format}`), format, columns, rows).then((items) => ({ file: `${name}.${format}`, items }));

  try {
    const files: ExportedFiles = {
      SUCCEEDED: await write(
        'results',
        ['index', 'result', 'usage'],
        map(ledger.outcomes(batchId, 'succeeded'), (o) => ({
          index: o.index,
          result: format === 'csv' ? csvValue(o.result) : (o.result ?? null),
          ...usageField(o, format),
        })),
      ),
      FAILED: await write(
        'failures',
        ['index', 'errorType', 'errorMessage', 'attempts', 'usage'],
        map(ledger.outcomes(batchId, 'failed'), (o) =>
          format === 'csv'
            ? { index: o.index, errorType: o.errorType, errorMessage: o.errorMessage, attempts: o.attempts, ...usageField(o, format) }
            : { index: o.index, error: { type: o.errorType, message: o.errorMessage }, attempts: o.attempts, ...usageField(o, format) },
        ),
      ),
      PENDING: await write('pending', ['index'], pendingItems(batchManifest.pendingRanges)),
    };
    const manifest: ExportManifest = { ...batchManifest, files };
    fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return { dir: outDir, results: files.SUCCEEDED.items, failures: files.FAILED.items, pending: files.PENDING.items, manifest };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.syscall) throw new CliError(`cannot write the export to ${outDir}: ${e.message}; give --out a folder you can write to`);
    throw err;
  }
}

/** Kernel filesystems: writing there fails, or blocks, or means something else entirely. */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * Refuses an --out that can never take an export, before anything is read or written: a file,
 * or a folder under /proc, /sys or /dev.
 */
export function checkOutDir(outDir: string): void {
  let existing = outDir;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let real = existing;
  try {
    real = fs.realpathSync(existing);
  } catch {
    // A dangling link or a folder we may not list: mkdir says why below.
  }
  const special = SPECIAL_ROOTS.find((root) => real === root || real.startsWith(`${root}/`));
  if (special)
    throw new CliError(`--out ${outDir} is under ${special}, a special filesystem, not a folder for files; give a folder on disk`);
  if (existing === outDir && fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new CliError(`--out ${outDir} is a file, not a folder; give a folder (it is created when missing)`);
  }
  if (existing !== outDir && !fs.statSync(existing).isDirectory()) {
    throw new CliError(`--out ${outDir} cannot be created: ${existing} is a file, not a folder; give a folder`);
  }
}

/** A CSV cell: text as it is, anything else (numbers, objects, arrays) as its JSON text, no result as empty. */
function csvValue(result: unknown): string {
  if (result === undefined || result === null) return '';
  return typeof result === 'string' ? result : JSON.stringify(result);
}

/** An item's usage: in JSONL a `usage` object, only on items that reported some; in CSV a column of its JSON text, empty when none. */
function usageField(o: StoredOutcome, format: ExportFormat): Row {
  if (format === 'csv') return { usage: o.usage === undefined ? '' : JSON.stringify(o.usage) };
  return o.usage === undefined ? {} : { usage: o.usage };
}

async function* map(outcomes: AsyncIterable<StoredOutcome>, shape: (o: StoredOutcome) => Row): AsyncIterable<Row> {
  for await (const o of outcomes) yield shape(o);
}

async function* pendingItems(ranges: [number, number][]): AsyncIterable<Row> {
  for (const [first, last] of ranges) {
    for (let index = first; index <= last; index++) yield { index };
  }
}

/** Streams rows to `file` (one JSON object per line, or CSV with a header row) and returns how many it wrote. */
async function writeRows(file: string, format: ExportFormat, columns: string[], rows: AsyncIterable<Row>): Promise<number> {
  let n = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const row of rows) {
        n++;
        yield row;
      }
    })(),
  );
  const encode =
    format === 'csv'
      ? stringify({ header: true, columns })
      : async function* (source: AsyncIterable<Row>) {
          for await (const row of source) yield `${JSON.stringify(row)}\n`;
        };
  await pipeline(counted, encode, fs.createWriteStream(file));
  return n;
}
