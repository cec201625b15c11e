import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ledger } from '../ledger/ledger';
import type { BatchManifest, FinalizeInput, FinalizeResult } from './contracts';
import { resumeCostBound } from '../spec/batch-spec';
import { manifestFile } from '../settings';

export interface FinalizeDeps {
  ledger: Ledger;
  dataDir: string;
}

/** Writes the batch's manifest from the ledger's own counts, the source of truth (not workflow counters). */
export async function finalize(deps: FinalizeDeps, input: FinalizeInput): Promise<FinalizeResult> {
  const { batchId, spec, runs, startedAt, finishedAt, status, stopReason } = input;
  const totals = await deps.ledger.totals(batchId);
  const processed = totals.succeeded + totals.failed;
  const total = Math.max(input.total ?? processed, processed);
  const pendingRanges = total > processed ? gaps(await deps.ledger.committedIndexes(batchId, 0, total), total) : [];
  const durationMs = Math.max(0, finishedAt - startedAt);
  const manifest: BatchManifest = {
    batchId,
    status,
    total,
    succeeded: totals.succeeded,
    failed: totals.failed,
    pending: total - processed,
    pendingRanges,
    ...(stopReason ? { stopReason } : {}),
    redone: totals.redone,
    runs,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs,
    itemsPerSecond: durationMs > 0 ? Math.round((processed / durationMs) * 1000 * 10) / 10 : processed,
    resumeCostBound: resumeCostBound(spec),
    source: { kind: spec.source.kind, path: spec.source.path },
    processor: spec.processor.name,
    sliceSize: spec.sliceSize,
    checkpointEvery: spec.checkpointEvery,
    concurrency: spec.concurrency,
    commitGroup: spec.commitGroup,
  };
  const manifestPath = manifestFile(batchId, deps.dataDir);
  await fs.mkdir(path.dirname(manifestPath), { recursive: true });
  // Write then rename, so a reader never sees half a manifest.
  await fs.writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.rename(`${manifestPath}.tmp`, manifestPath);
  await deps.ledger.saveBatch({ batchId, spec, manifest });
  return { manifest, manifestPath };
}

/** [first, last] ranges of the indexes in [0, total) missing from the sorted `committed`. */
function gaps(committed: number[], total: number): [number, number][] {
  const ranges: [number, number][] = [];
  let expected = 0;
  for (const index of committed) {
    if (index > expected) ranges.push([expected, index - 1]);
    expected = index + 1;
  }
  if (expected < total) ranges.push([expected, total - 1]);
  return ranges;
}
