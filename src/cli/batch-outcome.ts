/**
 * How a batch ended, read without a worker: a closed workflow's result or failure is in its
 * history, and the ledger keeps the manifest. No query: a query needs a worker, and a closed
 * batch's final word is its result.
 *
 * The exit codes of `start --wait`, `redrive --wait` and `status --watch` tell the endings apart.
 */
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BatchManifest } from '../contract/activity-io';
import type { BatchSummary } from '../contract/messages';
import { existingLedger } from '../ledger/open-ledger';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { CliError } from '../user-error';

/** 0 every item succeeded; 1 stays a mistake (flag, setting, server); 130 stays Ctrl-C. */
export const BATCH_EXIT = {
  completed: 0,
  completedWithFailedItems: 3,
  failed: 4,
  cancelled: 5,
} as const;

export type ClosedBatch =
  | { ending: 'completed'; summary: BatchSummary }
  /** FAILED (a bad spec, a source that cannot be read, failure tolerance exceeded), TERMINATED or TIMED_OUT. */
  | { ending: 'failed' | 'cancelled'; workflowStatus: string; reason: string; manifest?: BatchManifest };

/** The ending of a batch whose workflow is closed. */
export async function closedBatch(handle: WorkflowHandle<typeof batchWorkflow>, workflowStatus: string): Promise<ClosedBatch> {
  try {
    return { ending: 'completed', summary: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return closedByFailure(handle.workflowId, err, workflowStatus);
  }
}

/** The ending told by the failure `handle.result()` threw. */
export async function closedByFailure(
  batchId: string,
  err: WorkflowFailedError,
  workflowStatus?: string,
): Promise<Exclude<ClosedBatch, { ending: 'completed' }>> {
  const cause = err.cause;
  const ending = cause instanceof CancelledFailure ? 'cancelled' : 'failed';
  const status =
    workflowStatus ??
    (cause instanceof CancelledFailure
      ? 'CANCELLED'
      : cause instanceof TerminatedFailure
        ? 'TERMINATED'
        : cause instanceof TimeoutFailure
          ? 'TIMED_OUT'
          : 'FAILED');
  // failed-tolerance carries its manifest; a cancelled batch wrote one to the ledger.
  const attached =
    cause instanceof ApplicationFailure && cause.type === 'FailedTolerance' ? (cause.details?.[0] as BatchManifest | undefined) : undefined;
  const manifest = attached ?? (await ledgerManifest(batchId));
  return { ending, workflowStatus: status, reason: failureReason(err), manifest };
}

/** The line that says why a batch did not complete: the innermost cause, as the workflow put it. */
export function failureReason(err: WorkflowFailedError): string {
  const cause = err.cause;
  if (cause instanceof TerminatedFailure) return `terminated${cause.message && cause.message !== 'Terminated' ? `: ${cause.message}` : ''}`;
  if (cause instanceof TimeoutFailure) return 'timed out (the workflow execution timeout passed)';
  return rootMessage(err);
}

/** The innermost cause is the one that says what to fix (e.g. the activity's ApplicationFailure). */
export function rootMessage(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message.split('\n')[0];
}

/** The error that ends `--wait` or `--watch` of a batch that did not complete. */
export function endedError(batchId: string, closed: Exclude<ClosedBatch, { ending: 'completed' }>): CliError {
  if (closed.ending === 'cancelled') {
    return new CliError(
      `batch ${batchId} was cancelled; what it finished is kept: \`waymark export ${batchId} --out DIR\`, \`waymark redrive ${batchId}\` runs the rest`,
      BATCH_EXIT.cancelled,
    );
  }
  return new CliError(`batch ${batchId} failed: ${closed.reason}`, BATCH_EXIT.failed);
}

export function summaryExitCode(summary: Pick<BatchSummary, 'failed'>): number {
  return summary.failed > 0 ? BATCH_EXIT.completedWithFailedItems : BATCH_EXIT.completed;
}

async function ledgerManifest(batchId: string): Promise<BatchManifest | undefined> {
  let ledger;
  try {
    ledger = existingLedger();
    return ((await ledger?.batch(batchId))?.manifest as BatchManifest | undefined) ?? undefined;
  } catch {
    // The counts are extra; the reason is what matters.
    return undefined;
  } finally {
    await ledger?.close().catch(() => undefined);
  }
}
