import type { BatchSpec } from '../contract/batch-spec';

/**
 * Why the batch must stop (INVARIANTS.md I6), or undefined while its failures are within tolerance.
 * The percentage is of all items, like Step Functions' ToleratedFailurePercentage, so a
 * failure among the first few items does not stop a long batch.
 */
export function toleranceExceeded(
  spec: Pick<BatchSpec, 'toleratedFailureCount' | 'toleratedFailurePercent'>,
  failed: number,
  total: number | undefined,
): string | undefined {
  if (spec.toleratedFailureCount !== undefined && failed > spec.toleratedFailureCount) {
    return `${failed} failed items exceed toleratedFailureCount (${spec.toleratedFailureCount})`;
  }
  if (spec.toleratedFailurePercent !== undefined && total && (failed / total) * 100 > spec.toleratedFailurePercent) {
    const percent = Math.round((failed / total) * 1000) / 10;
    return `${failed} failed items (${percent}% of ${total}) exceed toleratedFailurePercent (${spec.toleratedFailurePercent}%)`;
  }
  return undefined;
}
