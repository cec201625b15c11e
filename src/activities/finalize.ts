import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ledger } from '../ledger/ledger';
import type { BatchManifest, FinalizeInput, FinalizeResult } from '../contract/activity-io';
import { resumeCostBound } from '../contract/batch-spec';
import { manifestFile } from '../settings';

export interface FinalizeDeps {
  ledger: Ledger;
  dataDir: string;
}

/**
 * Writes the batch's manifest from the ledger's own counts, the source of truth (not workflow
 * counters). A redrive also folds its outcomes into the batch it redrove and rewrites that
 * batch's manifest, so exporting the original shows the final state.
 */
export async function finalize(deps: FinalizeDeps, input: FinalizeInput): Promise<FinalizeResult> {
  const { ledger } = deps;
  const { batchId, spec, runs, startedAt, finishedAt, status, stopReason } = input;
  const totals = await ledger.totals(batchId);
  const processed = totals.succeeded + totals.failed;
  const total = Math.max(input.total ?? processed, processed);
  let pendingRanges: [number, number][] = [];
  if (total > processed) {
    const covered = await ledger.committedIndexes(batchId, 0, Number.MAX_SAFE_INTEGER);
    if (spec.redriveOf) covered.push(...(await ledger.committedIndexes(spec.redriveOf, 0, Number.MAX_SAFE_INTEGER, 'succeeded')));
    pendingRanges = gaps(covered.sort((a, b) => a - b), await sourceLength(ledger, spec.redriveOf, total));
  }
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
    ...(spec.redriveOf ? { redriveOf: spec.redriveOf } : {}),
  };
  const manifestPath = await writeManifest(deps, batchId, spec, manifest);
  if (spec.redriveOf) await mergeIntoRedriven(deps, batchId, spec.redriveOf);
  return { manifest, manifestPath };
}

/** The redriven batch's item count, from its manifest; for a plain batch, its own total. */
async function sourceLength(ledger: Ledger, redriveOf: string | undefined, total: number): Promise<number> {
  if (!redriveOf) return total;
  const redriven = (await ledger.batch(redriveOf))?.manifest as BatchManifest | undefined;
  return redriven?.total ?? total;
}

async function mergeIntoRedriven(deps: FinalizeDeps, redriveId: string, redrivenId: string): Promise<void> {
  const { ledger } = deps;
  await ledger.mergeRedrive(redriveId, redrivenId);
  const record = await ledger.batch(redrivenId);
  const before = record?.manifest as BatchManifest | undefined;
  if (!record || !before) return;
  const totals = await ledger.totals(redrivenId);
  const processed = totals.succeeded + totals.failed;
  const pendingRanges =
    before.total > processed ? gaps(await ledger.committedIndexes(redrivenId, 0, before.total), before.total) : [];
  const after: BatchManifest = {
    ...before,
    status: pendingRanges.length === 0 ? 'completed' : before.status,
    succeeded: totals.succeeded,
    failed: totals.failed,
    pending: before.total - processed,
    pendingRanges,
    redrives: [...(before.redrives ?? []), redriveId],
  };
  if (after.status === 'completed') delete after.stopReason;
  await writeManifest(deps, redrivenId, record.spec, after);
}

async function writeManifest(deps: FinalizeDeps, batchId: string, spec: unknown, manifest: BatchManifest): Promise<string> {
  const manifestPath = manifestFile(batchId, deps.dataDir);
  await fs.mkdir(path.dirname(manifestPath), { recursive: true });
  // Write then rename, so a reader never sees half a manifest.
  await fs.writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.rename(`${manifestPath}.tmp`, manifestPath);
  await deps.ledger.saveBatch({ batchId, spec, manifest });
  return manifestPath;
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
