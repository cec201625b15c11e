/** `waymark export`: the ledger's outcomes of one batch as files a user can hand on. */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Ledger, StoredOutcome } from '../ledger/ledger';
import type { BatchManifest } from '../activities/contracts';
import { CliError } from './connect';

export interface ExportResult {
  dir: string;
  results: number;
  failures: number;
  manifest: BatchManifest;
}

export async function exportBatch(ledger: Ledger, batchId: string, outDir: string): Promise<ExportResult> {
  const record = await ledger.batch(batchId);
  if (!record) {
    throw new CliError(`no batch "${batchId}" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir`);
  }
  if (!record.manifest) {
    throw new CliError(`batch "${batchId}" has not finished yet; wait for it (\`waymark status ${batchId} --watch\`) and export again`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const results = await writeJsonLines(path.join(outDir, 'results.jsonl'), ledger.outcomes(batchId, 'succeeded'), (o) => ({
    index: o.index,
    result: o.result ?? null,
  }));
  const failures = await writeJsonLines(path.join(outDir, 'failures.jsonl'), ledger.outcomes(batchId, 'failed'), (o) => ({
    index: o.index,
    error: { type: o.errorType, message: o.errorMessage },
    attempts: o.attempts,
  }));
  const manifest = record.manifest as BatchManifest;
  fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: outDir, results, failures, manifest };
}

async function writeJsonLines(
  file: string,
  rows: AsyncIterable<StoredOutcome>,
  shape: (o: StoredOutcome) => unknown,
): Promise<number> {
  const out = fs.createWriteStream(file);
  let n = 0;
  for await (const row of rows) {
    if (!out.write(`${JSON.stringify(shape(row))}\n`)) await once(out, 'drain');
    n++;
  }
  out.end();
  await once(out, 'finish');
  return n;
}
