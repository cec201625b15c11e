/** The one way in: a source spec becomes a Source. */
import * as path from 'node:path';
import { DEFAULTS, type SourceSpec } from '../contract/batch-spec';
import type { Source } from './source';
import { checkSourcePath } from './source-file';
import { jsonLineParser, LineSource, parseTextLine } from './line-source';
import { CsvSource } from './csv-source';
import { FolderSource, snapshotPath } from './folder-source';
import { openPostgresTableSource } from './postgres-table-source';

export interface SourceContext {
  /** The worker's data directory; folder sources keep their listing snapshots under it. */
  dataDir: string;
  batchId: string;
}

/**
 * Opens the source a spec describes. The path is checked now, so a missing or mistyped path
 * throws SourceUnavailableError before any work is planned; reads check it again later.
 * A postgres-table source checks its URL variable now and its table on first use.
 */
export function openSource(spec: SourceSpec, ctx: SourceContext): Source {
  if (spec.kind === 'postgres-table') return openPostgresTableSource(spec);
  const target = path.resolve(spec.path);
  const maxItemBytes = spec.maxItemBytes ?? DEFAULTS.maxItemBytes;
  checkSourcePath(target, spec.kind === 'folder' ? 'folder' : 'file');
  switch (spec.kind) {
    case 'jsonl':
      return new LineSource(target, maxItemBytes, jsonLineParser(spec.requireObject ?? false));
    case 'text':
      return new LineSource(target, maxItemBytes, parseTextLine);
    case 'csv':
      return new CsvSource(target, maxItemBytes);
    case 'folder':
      return new FolderSource(target, snapshotPath(path.resolve(ctx.dataDir), ctx.batchId));
  }
}
