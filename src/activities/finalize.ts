import type { BatchManifest, FinalizeInput, FinalizeResult, ManifestLanes } from '../contract/activity-io';
import { resumeCostBound } from '../contract/batch-spec';
import { mergeIntoRedriven } from '../redrive/merge-redrive';
import { sourceLength, succeededBefore } from '../redrive/redriven-batch';
import { gaps, writeManifest, type ManifestDeps } from './manifest';
import type { OrchestrationCost } from '../telemetry/orchestration-cost';
import { autoRange, laneCeiling, laneScope } from '../contract/adaptive-concurrency';
import type { Ledger, LaneSample } from '../ledger/ledger';
import type { BatchSpec } from '../contract/batch-spec';

export interface FinalizeDeps extends ManifestDeps {
  /** The batch's orchestration cost so far, from its histories; absent where no Temporal client is at hand. */
  orchestrationCost?: (batchId: string, heartbeats: number, items: number) => Promise<OrchestrationCost>;
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
  const usage = await ledger.usageTotals(batchId);
  const processed = totals.succeeded + totals.failed;
  const total = Math.max(input.total ?? processed, processed);
  let pendingRanges: [number, number][] = [];
  if (total > processed) {
    const covered = await ledger.committedIndexes(batchId, 0, Number.MAX_SAFE_INTEGER);
    covered.push(...(await succeededBefore(ledger, spec, 0, Number.MAX_SAFE_INTEGER)));
    pendingRanges = gaps(
      covered.sort((a, b) => a - b),
      await sourceLength(ledger, spec, total),
    );
  }
  const durationMs = Math.max(0, finishedAt - startedAt);
  // The count is a report, not the batch's outcome: a history that cannot be read leaves it out.
  const actions = await deps.orchestrationCost?.(batchId, input.heartbeats ?? 0, processed).catch(() => undefined);
  const lanes = await lanesOverTime(ledger, batchId, spec);
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
    ...(Object.keys(usage).length > 0 ? { usage } : {}),
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
    concurrency: laneCeiling(spec.concurrency),
    commitGroup: spec.commitGroup,
    ...(spec.redriveOf ? { redriveOf: spec.redriveOf } : {}),
    ...(actions !== undefined ? { actions } : {}),
    ...(lanes !== undefined ? { lanes } : {}),
  };
  const manifestPath = await writeManifest(deps, batchId, spec, manifest);
  if (spec.redriveOf) await mergeIntoRedriven(deps, batchId, spec.redriveOf);
  return { manifest, manifestPath };
}

/**
 * The manifest is the workflow's result, so it enters the batch's history: a long batch's lane
 * samples are thinned to this many, which keeps it to tens of kilobytes.
 */
const MANIFEST_LANE_SAMPLES = 600;

/** Adaptive lanes as the ledger kept them; undefined for a fixed concurrency. */
async function lanesOverTime(ledger: Ledger, batchId: string, spec: BatchSpec): Promise<ManifestLanes | undefined> {
  const range = autoRange(spec.concurrency);
  if (range === undefined) return undefined;
  const [view, samples] = await Promise.all([
    ledger.laneView(laneScope(batchId, spec.rateLimit?.key), batchId),
    ledger.laneSamples(batchId),
  ]);
  return {
    ...range,
    cuts: view?.cuts ?? 0,
    ...(view?.lastCut !== undefined ? { lastCut: view.lastCut } : {}),
    samples: thinned(samples, MANIFEST_LANE_SAMPLES),
  };
}

/** At most `max` of `samples`, evenly spaced, the first and the last kept. */
function thinned(samples: LaneSample[], max: number): LaneSample[] {
  if (samples.length <= max) return samples;
  const step = (samples.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => samples[Math.round(i * step)]);
}
