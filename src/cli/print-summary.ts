/** The lines a finished batch prints when the CLI watched it to the end. */
import type { BatchSummary } from '../contract/messages';

export function printSummary(s: BatchSummary): void {
  console.log(
    `batch ${s.batchId} completed: ${s.total} items (succeeded ${s.succeeded}, failed ${s.failed}) in ${(s.durationMs / 1000).toFixed(1)} s, ` +
      `${s.itemsPerSecond} items/s, ${s.runs} workflow run(s), redone ${s.redone} (bound ${s.resumeCostBound} per interruption)`,
  );
  console.log(`manifest: ${s.manifestPath}`);
}
