/** The lines a finished batch prints when the CLI watched it to the end, and its exit code. */
import type { BatchSummary } from '../contract/messages';
import { summaryExitCode } from './batch-outcome';
import { formatUsage } from '../workflows/details';
import { describeCost } from '../telemetry/orchestration-cost';

export function printSummary(s: BatchSummary): void {
  if (s.total === 0) {
    console.log(`batch ${s.batchId} completed: nothing to do, the source has no items (${s.source.kind} ${s.source.path})`);
  } else {
    console.log(
      `batch ${s.batchId} completed: ${s.total} items (succeeded ${s.succeeded}, failed ${s.failed}) in ${(s.durationMs / 1000).toFixed(1)} s, ` +
        `${s.itemsPerSecond} items/s, ${s.runs} workflow run(s), redone ${s.redone} (bound ${s.resumeCostBound} per interruption)`,
    );
  }
  if (s.usage !== undefined) console.log(`usage: ${formatUsage(s.usage)}`);
  if (s.actions !== undefined) console.log(`actions: ${describeCost(s.actions)}`);
  console.log(`manifest: ${s.manifestPath}`);
}

/** A watched batch that completed: its summary, and an exit code that tells whether items failed. */
export function finishWatched(s: BatchSummary): void {
  printSummary(s);
  process.exitCode = summaryExitCode(s);
  if (s.failed > 0) {
    console.error(
      `${s.failed} item(s) failed (exit code ${process.exitCode}); list them with \`waymark failures ${s.batchId}\`, re-run them with \`waymark redrive ${s.batchId}\``,
    );
  }
}
