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
    throw new CliError(`no batch "${batchId}" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir`);
  }
  if (!record.manifest) {
    throw new CliError(`batch "${batchId}" has not finished yet; wait for it (\`waymark status ${batchId} --watch\`) and export again`);
  }
  const batchManifest = record.manifest as BatchManifest;
  fs.mkdirSync(outDir, { recursive: true });
  const write = (name: string, columns: string[], rows: AsyncIterable<Row>) =>
    writeRows(path.join(outDir, `${name}.${format}`), format, columns, rows).then((items) => ({ file: `${name}.${format}`, items }));

  const files: ExportedFiles = {
    SUCCEEDED: await write(
      'results',
      ['index', 'result'],
      map(ledger.outcomes(batchId, 'succeeded'), (o) => ({ index: o.index, result: format === 'csv' ? csvValue(o.result) : (o.result ?? null) })),
    ),
    FAILED: await write(
      'failures',
      ['index', 'errorType', 'errorMessage', 'attempts'],
      map(ledger.outcomes(batchId, 'failed'), (o) =>
        format === 'csv'
          ? { index: o.index, errorType: o.errorType, errorMessage: o.errorMessage, attempts: o.attempts }
          : { index: o.index, error: { type: o.errorType, message: o.errorMessage }, attempts: o.attempts },
      ),
    ),
    PENDING: await write('pending', ['index'], pendingItems(batchManifest.pendingRanges)),
  };
  const manifest: ExportManifest = { ...batchManifest, files };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: outDir, results: files.SUCCEEDED.items, failures: files.FAILED.items, pending: files.PENDING.items, manifest };
}

/** A CSV cell: text as it is, anything else (numbers, objects, arrays) as its JSON text, no result as empty. */
function csvValue(result: unknown): string {
  if (result === undefined || result === null) return '';
  return typeof result === 'string' ? result : JSON.stringify(result);
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
