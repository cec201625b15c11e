import type { Ledger } from '../ledger/ledger';
import type { PlanWindowInput, PlanWindowResult } from '../contract/activity-io';
import { openSource } from '../sources/open-source';
import { resolveProcessor } from '../processors/registry';
import { slicesWithWorkLeft, sourceBatchId, succeededBeforeCount } from '../redrive/redriven-batch';
import { toApplicationFailure } from './failures';
import { claimBatchId } from './batch-identity';
import { searchAttributesRegistered } from './search-attributes-registered';

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
      // Before anything reads the ledger: a reused id must not see the earlier batch's rows (I11).
      if (identity !== undefined) await claimBatchId(deps.ledger, batchId, identity, spec);
      else await deps.ledger.saveBatch({ batchId, spec });
      total = await source.countItems();
      total -= await succeededBeforeCount(deps.ledger, spec);
    }
    const plan = await source.planWindow(from, maxItems, spec.sliceSize);
    plan.slices = await slicesWithWorkLeft(deps.ledger, spec, plan.slices);
    if (input.askSearchAttributes) return { plan, total, searchAttributesRegistered: await searchAttributesRegistered() };
    return { plan, total };
  } catch (err) {
    throw toApplicationFailure(err);
  }
}
