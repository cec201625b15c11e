import type { Ledger } from '../ledger/ledger';
import type { PlanWindowInput, PlanWindowResult } from '../contract/activity-io';
import { openSource } from '../sources/open-source';
import type { Source } from '../sources/source';
import { sliceSizesForLanes, slicesForShares } from '../sources/window-planner';
import type { BatchSpec } from '../contract/batch-spec';
import type { SourcePosition, WindowPlan } from '../contract/slices';
import { getProcessor, resolveProcessor } from '../processors/registry';
import { slicesWithWorkLeft, sourceBatchId, succeededBeforeCount } from '../redrive/redriven-batch';
import { toApplicationFailure } from './failures';
import { claimBatchId } from './batch-identity';
import { searchAttributesRegistered } from './search-attributes-registered';
import { laneCeiling } from '../contract/adaptive-concurrency';

export interface PlanDeps {
  ledger: Ledger;
  dataDir: string;
}

/**
 * Cuts the next window of the source into slices. On the first window it also checks what
 * only a worker can check (the processor exists here, takes these options and can start, the
 * source can be read) so a bad batch stops before any item is processed, claims the batch id for
 * this batch (refusing an id an earlier batch holds) and records the batch's spec.
 */
export async function planWindow(deps: PlanDeps, input: PlanWindowInput): Promise<PlanWindowResult> {
  const { batchId, spec, from, maxItems, countTotal, identity } = input;
  try {
    // A redrive reads the source of the batch it redrives, with that batch's folder snapshot.
    const source = openSource(spec.source, { dataDir: deps.dataDir, batchId: sourceBatchId(batchId, spec) });
    let total: number | undefined;
    if (countTotal) {
      const processor = resolveProcessor(spec.processor);
      processor.checkCanStart?.(spec.processor.options ?? {});
      // Before anything reads the ledger: a reused id must not see the earlier batch's rows (INVARIANTS.md I11).
      if (identity !== undefined) await claimBatchId(deps.ledger, batchId, identity, spec);
      else await deps.ledger.saveBatch({ batchId, spec });
      total = await source.countItems();
      total -= await succeededBeforeCount(deps.ledger, spec);
    }
    const plan = await planForLanes(source, spec, from, maxItems, sharesFor(spec, input.laneShares));
    plan.slices = await slicesWithWorkLeft(deps.ledger, spec, plan.slices);
    if (input.askSearchAttributes) return { plan, total, searchAttributesRegistered: await searchAttributesRegistered() };
    return { plan, total };
  } catch (err) {
    throw toApplicationFailure(err);
  }
}

/**
 * A slice of a provider batch processor is a job at the provider (or a few, past its limits), and
 * waits there on one lane: C slices of a round, C jobs at the provider at once.
 */
function sharesFor(spec: BatchSpec, laneShares: number[] | undefined): number[] | undefined {
  if (laneShares === undefined || getProcessor(spec.processor.name).providerBatch === undefined) return laneShares;
  return Array.from({ length: laneCeiling(spec.concurrency) }, () => 1);
}

/**
 * The window cut so that every lane has work: slices of at most S items. With lanes in slices
 * (`laneShares`), each share runs a chain of slices through the window, with items in proportion to
 * its lanes (`slicesForShares`), each slice told the lanes it was cut for; before them, the window
 * was cut in whole rounds of min(C, W) slices of equal size (`sliceSizesForLanes`). How many items
 * the window holds is known only once the source has been read up to its end, so a window that the
 * plain cut does not fit is read a second time (at most N items: ~25 ms for 100,000 JSONL lines).
 * Every source kind cuts the same way, since each takes a list of slice sizes.
 */
export async function planForLanes(
  source: Source,
  spec: BatchSpec,
  from: SourcePosition,
  maxItems: number,
  laneShares?: readonly number[],
): Promise<WindowPlan> {
  const plain = await source.planWindow(from, maxItems, spec.sliceSize);
  const items = plain.next.index - from.index;
  const shared = laneShares && items > 0 ? slicesForShares(items, spec.sliceSize, laneShares) : undefined;
  const sizes = shared?.sizes ?? sliceSizesForLanes(items, spec.sliceSize, laneCeiling(spec.concurrency));
  if (sizes === undefined) return plain;
  const recut = await source.planWindow(from, items, sizes);
  // The source changed between the two reads (a file appended to): the plain cut is still right.
  const last = recut.slices[recut.slices.length - 1];
  if (recut.slices.length !== sizes.length || last.start + last.count !== plain.next.index || last.endOffset !== plain.next.offset)
    return plain;
  return { ...plain, slices: shared ? recut.slices.map((slice, i) => ({ ...slice, lanes: shared.lanes[i] })) : recut.slices };
}
