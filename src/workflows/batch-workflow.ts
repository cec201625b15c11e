/**
 * batchWorkflow: plans a window of N items, runs its slices C at a time, and continues-as-new
 * with only cursor and counters (INVARIANTS.md I1, I2). Its state and decisions live in BatchRun; this
 * function wires the batch's messages to it and decides how the run ends.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import { parseBatchSpec, SpecError, type BatchSpec } from '../contract/batch-spec';
import type { Checkpoint } from '../contract/checkpoint';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal, type BatchConfigChange, type BatchSummary } from '../contract/messages';
import { BatchRun } from './batch-run';
import { BatchNotices } from './batch-notices';

export { EVENTS_PER_RUN_BUDGET } from './history-budget';

export async function batchWorkflow(specInput: unknown, checkpoint?: Checkpoint): Promise<BatchSummary> {
  const run = new BatchRun(validate(specInput), checkpoint);
  const notices = new BatchNotices(run, checkpoint);
  setHandler(progressQuery, () => run.progress());
  setHandler(pauseSignal, () => run.pause());
  setHandler(resumeSignal, () => run.resume());
  setHandler(configureUpdate, (change) => run.configure(change), {
    validator: (change: BatchConfigChange) => run.validateConfigure(change),
  });
  notices.watch();
  try {
    return await runBatch(run, notices);
  } catch (err) {
    // Told once: the endings runBatch told itself are not told again (I16).
    if (!(err instanceof ContinueAsNew)) await notices.end(isCancellation(err) ? 'cancelled' : 'failed', undefined, innermostMessage(err));
    throw err;
  }
}

async function runBatch(run: BatchRun, notices: BatchNotices): Promise<BatchSummary> {
  await run.plan().catch((err: Error) => {
    throw batchIdReused(err) ?? err;
  });
  await run.runWindow();

  if (run.failure !== undefined) throw run.failure;
  if (run.cancelled) {
    const { manifest } = await run.finish('cancelled');
    await notices.end('cancelled', manifest);
    throw new CancelledFailure(`batch ${run.batchId} was cancelled; the items done so far are kept in the ledger`);
  }
  if (run.stopReason !== undefined) {
    const { manifest, manifestPath } = await run.finish('failed-tolerance', run.stopReason);
    await notices.end('failed', manifest, `failure tolerance exceeded: ${run.stopReason}`);
    await condition(allHandlersFinished);
    throw ApplicationFailure.nonRetryable(
      `batch stopped: ${run.stopReason}; ${manifest.succeeded} succeeded, ${manifest.failed} failed, ${manifest.pending} pending (manifest ${manifestPath})`,
      'FailedTolerance',
      { ...manifest, manifestPath },
    );
  }
  if (!run.finishesBatch()) {
    const carried = await notices.carried();
    await condition(allHandlersFinished);
    return await continueAsNew<typeof batchWorkflow>(run.spec, { ...run.checkpoint(), ...carried });
  }
  const { manifest, manifestPath } = await run.finish('completed');
  await notices.end('finished', manifest);
  await condition(allHandlersFinished);
  return { ...manifest, manifestPath };
}

/**
 * planWindow refused the batch id: an earlier batch holds it (I11). The workflow fails with that
 * message as its own non-retryable failure, so a workflow retry policy does not run it again.
 */
function batchIdReused(err: unknown): ApplicationFailure | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure) || err.cause.type !== 'BatchIdReused')
    return undefined;
  return ApplicationFailure.nonRetryable(err.cause.message, 'BatchIdReused');
}

function innermostMessage(err: unknown): string {
  let e = err as Error;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

/** Defends the workflow against a spec that did not come through waymark's CLI (e.g. `temporal workflow start`). */
function validate(specInput: unknown): BatchSpec {
  try {
    return parseBatchSpec(specInput);
  } catch (err) {
    if (err instanceof SpecError) {
      throw ApplicationFailure.nonRetryable(err.message, 'SpecError', { field: err.field });
    }
    throw err;
  }
}
