/**
 * What `waymark configure` may change on a running batch, checked as the update's validator and
 * applied by the workflow. A new slice size for a running batch (`waymark configure --slice`). A slice must end where a
 * workflow run ends, so S must divide N (checkpointEvery); configure cannot change N, so the
 * spec's own advice ("use checkpointEvery X") would send the user to a setting they cannot reach.
 * This names the slice sizes that fit instead. Pure, for the update's validator in workflow code.
 */
import { parseBatchSpec, type BatchSpec } from '../contract/batch-spec';
import type { BatchConfigChange } from '../contract/messages';

export function sliceSizeProblem(sliceSize: number, checkpointEvery: number): string | undefined {
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1 || checkpointEvery % sliceSize === 0) return undefined;
  const below = nearestDivisor(checkpointEvery, Math.min(sliceSize, checkpointEvery), -1);
  const above = sliceSize < checkpointEvery ? nearestDivisor(checkpointEvery, sliceSize, 1) : undefined;
  const choices = [below, above].filter((d): d is number => d !== undefined);
  return (
    `slice size ${sliceSize} does not divide this batch's checkpointEvery (${checkpointEvery} items per workflow run), ` +
    `which cannot change while it runs; choose a slice size that divides it, e.g. ${choices.join(' or ')}`
  );
}

function nearestDivisor(n: number, from: number, step: 1 | -1): number | undefined {
  for (let d = from; d >= 1 && d <= n; d += step) if (n % d === 0) return d;
  return undefined;
}

/**
 * The spec a configure change makes of `spec`, validated whole; throws with what is wrong. A new
 * budget is a new maximum for the budget's unit.
 */
export function configuredSpec(spec: BatchSpec, change: BatchConfigChange): BatchSpec {
  const unknown = Object.keys(change ?? {}).filter((k) => k !== 'concurrency' && k !== 'sliceSize' && k !== 'budget');
  if (unknown.length) throw new Error(`configure takes concurrency, sliceSize and budget only, not ${unknown.join(', ')}`);
  const sliceProblem = sliceSizeProblem(change.sliceSize ?? spec.sliceSize, spec.checkpointEvery);
  if (sliceProblem) throw new Error(sliceProblem);
  const { budget, ...settings } = change;
  if (budget === undefined) return parseBatchSpec({ ...spec, ...settings });
  if (spec.budget === undefined) {
    throw new Error('this batch has no budget to raise; a budget is set when the batch starts (`waymark start --budget UNIT=MAX`)');
  }
  return parseBatchSpec({ ...spec, ...settings, budget: { unit: spec.budget.unit, max: budget } });
}
