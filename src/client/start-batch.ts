/** Starting a batch from waymark's own CLI or code: validate at the edge, then start the workflow. */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { parseBatchSpec, SpecError, type BatchSpec } from '../spec/batch-spec';
import { getProcessor, processorNames, UnknownProcessorError } from '../processors/registry';
import { BATCH_WORKFLOW_TYPE } from '../workflows/definitions';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { TASK_QUEUE } from '../settings';
import { CliError } from './connect';

/**
 * Everything that can be checked before any work: the spec's fields, the processor and its
 * options, and that the source exists with the right type. The source path is made absolute,
 * so a worker started from another folder reads the same file.
 */
export function validateSpecForStart(input: unknown): BatchSpec {
  let spec: BatchSpec;
  try {
    spec = parseBatchSpec(input);
  } catch (err) {
    if (err instanceof SpecError) throw new CliError(err.message);
    throw err;
  }
  try {
    getProcessor(spec.processor.name).validateOptions?.(spec.processor.options ?? {});
  } catch (err) {
    if (err instanceof UnknownProcessorError) {
      // The registry's own message tells a programmer to call loadProcessorModule; a CLI user adds processors through the environment.
      throw new CliError(
        `unknown processor "${err.processorName}"; known processors: ${processorNames().join(', ')}. ` +
          'Use one of them, or name your processor module in WAYMARK_PROCESSORS (comma-separated .js paths) for both `waymark start` and `waymark worker`',
      );
    }
    throw new CliError((err as Error).message);
  }
  const sourcePath = path.resolve(spec.source.path);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(sourcePath);
  } catch {
    throw new CliError(`source not found: ${sourcePath}; check the path (source.path in a spec file)`);
  }
  if (spec.source.kind === 'folder' && !stat.isDirectory()) {
    throw new CliError(`source ${sourcePath} is a file, but source.kind is "folder"; give a folder or another kind`);
  }
  if (spec.source.kind !== 'folder' && !stat.isFile()) {
    throw new CliError(`source ${sourcePath} is not a file; for a folder of files use source.kind "folder" (--source-kind folder)`);
  }
  return { ...spec, source: { ...spec.source, path: sourcePath } };
}

export function defaultBatchId(spec: BatchSpec, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${path.basename(spec.source.path).replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`;
}

export async function startBatch(
  client: Client,
  spec: BatchSpec,
  batchId = defaultBatchId(spec),
  taskQueue = TASK_QUEUE,
): Promise<WorkflowHandle<typeof batchWorkflow>> {
  try {
    return await client.workflow.start<typeof batchWorkflow>(BATCH_WORKFLOW_TYPE, {
      workflowId: batchId,
      taskQueue,
      args: [spec],
      // A batch id names one batch forever: its ledger rows are keyed by it.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `batch id "${batchId}" already exists (running or finished); choose another with --batch-id, or see it with \`waymark status ${batchId}\``,
      );
    }
    throw err;
  }
}
