/** Starting a batch from waymark's own CLI or code: validate at the edge, then start the workflow. */
import fs from 'node:fs';
import path from 'node:path';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { parseBatchSpec, resumeCostBound, SpecError, taskPriority, type BatchSpec } from '../contract/batch-spec';
import { WAYMARK_FAILED, WAYMARK_SEARCH_ATTRIBUTES, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../contract/search-attributes';
import { processorNames, resolveProcessor, UnknownProcessorError } from '../processors/registry';
import { ProcessorCannotStartError, type Processor } from '../processors/processor';
import { BATCH_WORKFLOW_TYPE } from '../contract/messages';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { detailsList } from '../workflows/details';
import { TASK_QUEUE } from '../settings';
import { CliError } from '../user-error';
import { serverRefusal } from './server-refusal';
import { autoRange, describeConcurrency } from '../contract/adaptive-concurrency';

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
    const processor = resolveProcessor(spec.processor);
    // Adaptive lanes find how many requests an API takes at once; a batch API takes whole jobs and paces them itself.
    if (processor.providerBatch !== undefined && autoRange(spec.concurrency) !== undefined) {
      throw new CliError(
        `processor "${spec.processor.name}" sends items as jobs to a provider's batch API, which runs them at its own pace: concurrency "auto" has nothing to find there; give a number instead (--concurrency N: the provider jobs running at once, e.g. 4)`,
      );
    }
    checkCanStartHere(processor, spec.processor.options ?? {});
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
  // A table lives in the database the workers reach through source.urlEnv; they check it when planning.
  if (spec.source.kind === 'postgres-table') return spec;
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

/**
 * A program named by path that cannot start here is refused, as a missing source is; one looked
 * up on PATH only warns, since workers may run on machines whose PATH has it. Workers check again.
 */
function checkCanStartHere(processor: Processor, options: Record<string, unknown>): void {
  try {
    processor.checkCanStart?.(options);
  } catch (err) {
    if (!(err instanceof ProcessorCannotStartError) || !err.lookedUpOnPath) throw err;
    console.warn(
      `warning: ${err.message.replace(/\. Every item would fail.*$/, '')}; starting anyway, as workers elsewhere may have it (they check before the first item)`,
    );
  }
}

export function defaultBatchId(spec: BatchSpec, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${path.basename(spec.source.path).replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`;
}

export async function startBatch(
  client: Client,
  spec: BatchSpec,
  batchId = defaultBatchId(spec),
  taskQueue = TASK_QUEUE,
): Promise<WorkflowHandle<typeof batchWorkflow>> {
  const metadata = await batchStartMetadata(client, spec);
  try {
    return await client.workflow.start<typeof batchWorkflow>(BATCH_WORKFLOW_TYPE, {
      workflowId: batchId,
      taskQueue,
      args: [spec],
      ...metadata,
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
    const refusal = serverRefusal(err);
    if (refusal !== undefined)
      throw new CliError(`the server refused to start batch "${batchId}": ${refusal}; fix it (--batch-id) and start again`);
    throw err;
  }
}

/**
 * What every batch starts with, from `waymark start` and from a schedule alike: the Web UI's
 * static summary and details, and waymark's search attributes when the server has them (the
 * workflow keeps them up to date only when it starts with them, see BatchRun.publish in src/workflows/batch-run.ts).
 */
export async function batchStartMetadata(client: Client, spec: BatchSpec, summarySuffix = '') {
  const withSearchAttributes = await hasWaymarkSearchAttributes(client);
  const priority = taskPriority(spec);
  return {
    ...(priority !== undefined ? { priority } : {}),
    staticSummary: `waymark: ${spec.processor.name} over ${spec.source.kind} ${path.basename(spec.source.path)}${summarySuffix}`,
    staticDetails: staticDetails(spec),
    ...(withSearchAttributes
      ? {
          typedSearchAttributes: [
            { key: WAYMARK_STATUS, value: 'planning' },
            { key: WAYMARK_SUCCEEDED, value: 0 },
            { key: WAYMARK_FAILED, value: 0 },
          ],
        }
      : {}),
  };
}

/** Reads a JSON spec file (`--spec`); it is then checked by validateSpecForStart. */
export function readSpecFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`spec file not found or unreadable: ${path.resolve(file)}; check the path given to --spec`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `spec file ${file} is not valid JSON (${(err as Error).message}); fix it: it must hold one JSON object such as {"source": {"kind": "jsonl", "path": "items.jsonl"}, "processor": {"name": "sha256"}}`,
    );
  }
}

/** What the batch is, for the Web UI's static details. */
function staticDetails(spec: BatchSpec): string {
  return detailsList([
    ['source', `${spec.source.kind} \`${spec.source.path}\``],
    ['processor', spec.processor.name],
    ['slice size (S)', String(spec.sliceSize)],
    ['items per run (N)', String(spec.checkpointEvery)],
    // Escaped: the Web UI's markdown renderer turns a bare (C) into ©.
    ['items in flight \\(C\\)', describeConcurrency(spec.concurrency)],
    ['commit group (k)', String(spec.commitGroup)],
    ['resume-cost bound', `${resumeCostBound(spec)} items per interruption`],
    ...(spec.redriveOf ? [['redrive of', spec.redriveOf] as [string, string]] : []),
    ...(spec.rateLimit
      ? [
          [
            'rate limit',
            `${spec.rateLimit.key}: ${spec.rateLimit.limit} ${spec.rateLimit.unit} per ${spec.rateLimit.per}, burst ${spec.rateLimit.burst}`,
          ] as [string, string],
        ]
      : []),
  ]);
}

/**
 * Whether the server has waymark's search attributes (`waymark dev` registers them; other
 * clusters need the commands in docs/operating.md). Starting with an unregistered one would fail.
 */
async function hasWaymarkSearchAttributes(client: Client): Promise<boolean> {
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
    return WAYMARK_SEARCH_ATTRIBUTES.every((key) => customAttributes?.[key.name] !== undefined);
  } catch {
    // Some hosted servers refuse the operator API to ordinary clients: start without them.
    return false;
  }
}
