/**
 * The batch spec: the one JSON document that describes a batch, taken alike by
 * `waymark start --spec`, `temporal workflow start --input-file` and the workflow itself.
 *
 * This module is imported by workflow code, so it must stay deterministic: no I/O, no clock.
 *
 * Over 400 lines: every field's schema, default and error message stay together, in one place,
 * because the spec is one contract read by the CLI, the Temporal CLI's input and the workflow.
 */
import { z } from 'zod';
import { UNIT_NAME } from './usage';
import { notifySchema, notifyTargetSchema } from './notifications';
import { autoConcurrencySchema, CONCURRENCY_FORMS, laneCeiling, MAX_LANES } from './adaptive-concurrency';

export const SOURCE_KINDS = ['jsonl', 'text', 'csv', 'folder', 'postgres-table'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Fields that only some kinds of source take; any other kind refuses them. */
const FILE_ONLY_FIELDS = ['requireObject', 'maxItemBytes'] as const;
const TABLE_ONLY_FIELDS = ['keyColumn', 'columns', 'urlEnv'] as const;

/** Processor options travel through workflow history; this cap keeps item data out of it (INVARIANTS.md I1). */
export const MAX_PROCESSOR_OPTIONS_BYTES = 16 * 1024;

const positiveInt = (what: string) =>
  z
    .number({ error: `must be a whole number (${what})` })
    .int({ error: `must be a whole number (${what})` })
    .positive({ error: `must be at least 1 (${what})` });

export const sourceSchema = z
  .strictObject({
    kind: z.enum(SOURCE_KINDS, { error: `must be one of ${SOURCE_KINDS.join(', ')}` }),
    path: z.string({ error: 'must be a path to a file or folder' }).min(1, { error: 'must not be empty' }),
    /** JSONL only: each line must be a JSON object; anything else becomes a `parse` failure row. */
    requireObject: z.boolean().optional(),
    /** Longest item accepted, in bytes; a longer line becomes a `parse` failure row. */
    maxItemBytes: positiveInt('bytes').optional(),
    /**
     * postgres-table only (there `path` names the table, `table` or `schema.table`): the integer
     * column, NOT NULL and unique, whose order is the item order and whose values bound the slices.
     */
    keyColumn: z.string({ error: 'must name an integer column of the table' }).min(1, { error: 'must not be empty' }).optional(),
    /** postgres-table only: the columns each item holds; default all of them. */
    columns: z
      .array(z.string({ error: 'must be column names' }).min(1, { error: 'must not hold an empty name' }), {
        error: 'must be a list of column names',
      })
      .min(1, { error: 'must name at least one column (leave it out for all columns)' })
      .optional(),
    /**
     * postgres-table only: the environment variable, set on every worker, that holds the database's
     * postgres:// URL (default WAYMARK_SOURCE_URL). The URL itself, password and all, never enters
     * workflow history.
     */
    urlEnv: z
      .string({ error: 'must name an environment variable' })
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be the name of an environment variable (letters, digits, _), not a URL' })
      .optional(),
  })
  .superRefine((source, ctx) => {
    const table = source.kind === 'postgres-table';
    for (const field of table ? FILE_ONLY_FIELDS : TABLE_ONLY_FIELDS) {
      if (source[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `applies to ${table ? 'file' : 'postgres-table'} sources only; remove it` });
      }
    }
    if (!table) return;
    if (source.keyColumn === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyColumn'],
        message: 'is required for a postgres-table source: name its integer key column (NOT NULL, unique), whose order is the item order',
      });
    }
    if (!/^[^.]+(\.[^.]+)?$/.test(source.path)) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: `("${source.path}") must name the table as table or schema.table for a postgres-table source`,
      });
    }
  });

export const processorSchema = z.strictObject({
  name: z.string({ error: 'must name a processor, e.g. "sha256"' }).min(1, { error: 'must not be empty' }),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .refine((o) => o === undefined || JSON.stringify(o).length <= MAX_PROCESSOR_OPTIONS_BYTES, {
      error: `are larger than ${MAX_PROCESSOR_OPTIONS_BYTES} bytes; item data belongs in the source file, not in the spec`,
    }),
});

/**
 * A cap on what the batch may use of one usage unit (what its processor reports, see
 * ProcessorContext.reportUsage): once its committed items have used `max`, no item starts and the
 * batch pauses ("budget reached") until `waymark configure BATCH --budget N` raises it.
 */
export const budgetSchema = z.strictObject({
  unit: z
    .string({ error: 'must name the usage unit the processor reports, e.g. "tokens"' })
    .regex(UNIT_NAME, { error: 'must be a unit name: a letter, then up to 63 letters, digits or _, e.g. "tokens" or "costUsd"' }),
  max: z
    .number({ error: 'must be a number: the most of the unit the batch may use' })
    .positive({ error: 'must be more than 0: the most of the unit the batch may use' }),
});

/** The periods a rate limit counts over, in milliseconds. */
export const RATE_PERIODS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type RatePeriod = keyof typeof RATE_PERIODS;
const PERIOD_NAMES = Object.keys(RATE_PERIODS) as RatePeriod[];

/**
 * A named rate limit (INVARIANTS.md I13): items started under `key`, by every batch and worker
 * that names it, stay within `limit` + `burst` in every window of one `per`.
 */
export const rateLimitSchema = z.strictObject({
  key: z
    .string({ error: 'must name the limit, e.g. "openai"; batches that name the same key share it' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, {
      error: 'must be 1 to 100 letters, digits or . _ : - (starting with a letter or digit), e.g. "openai"',
    }),
  limit: positiveInt('items per period'),
  per: z.enum(PERIOD_NAMES, { error: `must be one of ${PERIOD_NAMES.join(', ')}` }),
  /** Items that may start above the rate at once; also what lets a worker take tokens in blocks. */
  burst: z
    .number({ error: 'must be a whole number (items above the limit)' })
    .int({ error: 'must be a whole number (items above the limit)' })
    .nonnegative({ error: 'must be 0 or more (items above the limit)' })
    .default(0),
  /**
   * What the limit counts: items (each item takes a token as it starts), or a usage unit the
   * processor reports (e.g. tokens), charged as each item ends.
   */
  unit: z
    .string({ error: 'must be "items" or a usage unit the processor reports, e.g. "tokens"' })
    .regex(UNIT_NAME, { error: 'must be "items" or a usage unit name: a letter, then up to 63 letters, digits or _, e.g. "tokens"' })
    .default('items'),
});

export const DEFAULTS = {
  sliceSize: 1000,
  checkpointEvery: 100_000,
  concurrency: 4,
  commitGroup: 1,
  itemAttempts: 3,
  itemTimeoutMs: 60_000,
  itemBackoffMs: 1000,
  itemBackoffMaxMs: 30_000,
  heartbeatTimeoutMs: 30_000,
  itemCrashLimit: 3,
  maxItemBytes: 1024 * 1024,
} as const;

const specShape = z.strictObject({
  source: sourceSchema,
  processor: processorSchema,
  /** S: items processed by one `processSlice` activity. */
  sliceSize: positiveInt('items per slice').default(DEFAULTS.sliceSize),
  /** N: items per workflow run; the workflow continues-as-new after each window of N. */
  checkpointEvery: positiveInt('items per workflow run').default(DEFAULTS.checkpointEvery),
  /**
   * C: items in flight at once (lanes); a slice runs many of them (src/contract/lanes.ts). Or
   * `{"auto": {"min", "max"}}`: lanes found between two bounds (adaptive-concurrency.ts).
   */
  concurrency: z
    .union([positiveInt('items in flight').max(MAX_LANES, { error: `must be at most ${MAX_LANES}` }), autoConcurrencySchema], {
      error: `must be ${CONCURRENCY_FORMS}`,
    })
    .default(DEFAULTS.concurrency),
  /** k: items committed to the ledger in one transaction; enters the resume-cost bound. */
  commitGroup: positiveInt('items per ledger transaction').max(10_000).default(DEFAULTS.commitGroup),
  /**
   * M: items a processor takes in one call (processors with processBatch); optional so every
   * earlier spec stays as it was. Enters the resume-cost bound as max(k, M).
   */
  itemsPerCall: positiveInt('items per processor call').max(10_000).optional(),
  itemAttempts: positiveInt('attempts per item').max(100).default(DEFAULTS.itemAttempts),
  itemTimeoutMs: positiveInt('milliseconds').default(DEFAULTS.itemTimeoutMs),
  itemBackoffMs: z
    .number({ error: 'must be a whole number (milliseconds)' })
    .int({ error: 'must be a whole number (milliseconds)' })
    .nonnegative({ error: 'must be 0 or more (milliseconds)' })
    .default(DEFAULTS.itemBackoffMs),
  itemBackoffMaxMs: z
    .number({ error: 'must be a whole number (milliseconds)' })
    .int({ error: 'must be a whole number (milliseconds)' })
    .nonnegative({ error: 'must be 0 or more (milliseconds)' })
    .default(DEFAULTS.itemBackoffMaxMs),
  /** Stop the batch (status failed-tolerance) once more items than this have failed. */
  toleratedFailureCount: z
    .number({ error: 'must be a number (failed items)' })
    .int({ error: 'must be a whole number (failed items)' })
    .nonnegative({ error: 'must be 0 or more (failed items)' })
    .optional(),
  /** Stop the batch once failed items exceed this percentage of all items. */
  toleratedFailurePercent: z
    .number({ error: 'must be a number (percent)' })
    .min(0, { error: 'must be between 0 and 100' })
    .max(100, { error: 'must be between 0 and 100' })
    .optional(),
  /**
   * Set by `waymark redrive`: this batch re-runs only the failed and pending items of the batch
   * named here, and its outcomes are merged back into that batch when it finishes.
   */
  redriveOf: z.string({ error: 'must name the batch to redrive' }).min(1, { error: 'must name the batch to redrive' }).optional(),
  /** An item in flight when its worker died this many times is dead-lettered as `crashed-worker`. */
  itemCrashLimit: positiveInt('worker crashes').max(100).default(DEFAULTS.itemCrashLimit),
  /** A slice whose worker stops heartbeating this long is handed to another worker. */
  heartbeatTimeoutMs: positiveInt('milliseconds').min(1000, { error: 'must be at least 1000 ms' }).default(DEFAULTS.heartbeatTimeoutMs),
  /** Pause once the batch has used this much of a usage unit; optional so every earlier spec stays as it was. */
  budget: budgetSchema.optional(),
  /** A named rate limit shared with every batch that names its key; without it items start as fast as they run. */
  rateLimit: rateLimitSchema.optional(),
  /**
   * Temporal task priority of the batch's workflow and slice tasks, 1 (first) to 5 (last), 3 when
   * unset: tasks waiting in the task queue are handed out in priority order. A running slice is
   * never preempted.
   */
  priority: z
    .number({ error: 'must be a whole number from 1 (first) to 5 (last)' })
    .int({ error: 'must be a whole number from 1 (first) to 5 (last)' })
    .min(1, { error: 'must be from 1 (first) to 5 (last)' })
    .max(5, { error: 'must be from 1 (first) to 5 (last)' })
    .optional(),
  /**
   * Temporal fairness key: batches with different keys share the task queue's dispatch by weight
   * (a tenant, a team), so a large batch cannot starve a small one. Needs fairness on the server
   * (`waymark dev` turns it on; elsewhere matching.enableFairness).
   */
  fairnessKey: z
    .string({ error: 'must be a string of at most 64 bytes, e.g. a tenant or team name' })
    .min(1, { error: 'must not be empty' })
    .refine((key) => new TextEncoder().encode(key).length <= 64, { error: 'must be at most 64 bytes (the server refuses longer keys)' })
    .optional(),
  /** The fairness key's weight, from 0.001 to 1000 (default 1): its share of the dispatch against other keys. */
  fairnessWeight: z
    .number({ error: 'must be a number from 0.001 to 1000' })
    .min(0.001, { error: 'must be from 0.001 to 1000' })
    .max(1000, { error: 'must be from 0.001 to 1000' })
    .optional(),
  /** Where to tell the batch's state transitions (finished, failed, budget reached, long quota wait, stalled, ...). */
  notify: notifySchema.optional(),
});

export const batchSpecSchema = specShape.superRefine((spec, ctx) => {
  if (spec.sliceSize > spec.checkpointEvery) {
    ctx.addIssue({
      code: 'custom',
      path: ['sliceSize'],
      message: `(${spec.sliceSize}) is larger than checkpointEvery (${spec.checkpointEvery}); a slice must fit in one workflow run: lower sliceSize or raise checkpointEvery`,
    });
  } else if (spec.checkpointEvery % spec.sliceSize !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['checkpointEvery'],
      message: `(${spec.checkpointEvery}) is not a multiple of sliceSize (${spec.sliceSize}); use e.g. ${Math.max(1, Math.round(spec.checkpointEvery / spec.sliceSize)) * spec.sliceSize}`,
    });
  }
  if (spec.commitGroup > spec.sliceSize) {
    ctx.addIssue({
      code: 'custom',
      path: ['commitGroup'],
      message: `(${spec.commitGroup}) is larger than sliceSize (${spec.sliceSize}); a commit group cannot span slices`,
    });
  }
  if (spec.fairnessWeight !== undefined && spec.fairnessKey === undefined) {
    ctx.addIssue({ code: 'custom', path: ['fairnessWeight'], message: 'weighs a fairness key: set fairnessKey too, or drop it' });
  }
  if (spec.itemsPerCall !== undefined && spec.itemsPerCall > spec.sliceSize) {
    ctx.addIssue({
      code: 'custom',
      path: ['itemsPerCall'],
      message: `(${spec.itemsPerCall}) is larger than sliceSize (${spec.sliceSize}); a call cannot span slices`,
    });
  }
});

/** A spec as written by a user: every field with a default may be left out. */
export type BatchSpecInput = z.input<typeof batchSpecSchema>;
/** A spec with every default applied. */
export type BatchSpec = z.output<typeof batchSpecSchema>;
export type SourceSpec = BatchSpec['source'];
export type ProcessorSpec = BatchSpec['processor'];
export type RateLimitSpec = NonNullable<BatchSpec['rateLimit']>;

export class SpecError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    // The whole document is "the spec"; a field is named by its path.
    super(`invalid batch spec: ${field === 'spec' ? 'the spec' : field} ${problem}`);
    this.name = 'SpecError';
  }
}

/**
 * Validates a spec and applies defaults. Throws SpecError naming the first bad field, what it
 * should be and, for a value of the wrong type or outside its choices, what it was.
 * Pure and deterministic, so the workflow can run it on replay.
 */
export function parseBatchSpec(input: unknown): BatchSpec {
  const parsed = batchSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : '';
    return fail(`${where}${issue.keys[0]}`, `is not a known field; remove it (known fields: ${knownFields(issue.path, input).join(', ')})`);
  }
  const field = issue.path.length ? issue.path.join('.') : 'spec';
  // zod reports the input of an issue only when asked to; the value is read from the document instead.
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_type') {
    if (value === undefined) return fail(field, 'is required');
    return fail(
      field,
      `${ownMessage(issue.message) ?? `must be ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}`}, got ${describeValue(value)}`,
    );
  }
  if (issue.code === 'invalid_union') return fail(field, `${issue.message}, got ${describeValue(value)}`);
  if (issue.code === 'invalid_value') {
    const choices = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return fail(field, `${ownMessage(issue.message) ?? `must be one of ${choices}`}, got ${describeValue(value)}`);
  }
  return fail(field, issue.message);
}

/** What a zod type name means to someone writing JSON. */
const EXPECTED: Record<string, string> = {
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'a list (JSON array)',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** The schema's own wording, or undefined for zod's generic English ("Invalid input: ..."). */
function ownMessage(message: string): string | undefined {
  return /^Invalid (input|option)/.test(message) ? undefined : message;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** A value as a sentence names it: `the string "5"`, `an array`, `null`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

function fail(field: string, problem: string): never {
  throw new SpecError(field, problem);
}

function knownFields(path: PropertyKey[], input: unknown): string[] {
  const first = path[0];
  if (first === 'source') {
    // The fields of the source's own kind: a file source is not told about keyColumn, nor a table about maxItemBytes.
    const kind = (input as { source?: { kind?: unknown } } | null)?.source?.kind;
    const foreign: readonly string[] =
      kind === 'postgres-table' ? FILE_ONLY_FIELDS : SOURCE_KINDS.includes(kind as SourceKind) ? TABLE_ONLY_FIELDS : [];
    return Object.keys(sourceSchema.shape).filter((field) => !foreign.includes(field));
  }
  if (first === 'processor') return Object.keys(processorSchema.shape);
  if (first === 'concurrency') return path.length > 1 ? ['min', 'max'] : ['auto'];
  if (first === 'budget') return Object.keys(budgetSchema.shape);
  if (first === 'rateLimit') return Object.keys(rateLimitSchema.shape);
  if (first === 'notify') return Object.keys((path[2] === undefined ? notifySchema : notifyTargetSchema).shape);
  return Object.keys(specShape.shape);
}

/**
 * The most items one slice holds processed but not yet committed: max(k, M). A call takes at
 * most M items and no more than the open commit group has room for, and a group of this size
 * is committed as soon as it is full.
 */
export function uncommittedPerSlice(spec: Pick<BatchSpec, 'commitGroup' | 'itemsPerCall'>): number {
  return Math.max(spec.commitGroup, spec.itemsPerCall ?? 1);
}

/**
 * The Temporal task priority a spec asks for (workflow start and slice activities), or undefined
 * when it asks for none: the server's default then, or what `temporal workflow start --priority-key` set.
 */
export function taskPriority(
  spec: Pick<BatchSpec, 'priority' | 'fairnessKey' | 'fairnessWeight'>,
): { priorityKey?: number; fairnessKey?: string; fairnessWeight?: number } | undefined {
  const { priority, fairnessKey, fairnessWeight } = spec;
  if (priority === undefined && fairnessKey === undefined) return undefined;
  return {
    ...(priority !== undefined ? { priorityKey: priority } : {}),
    ...(fairnessKey !== undefined ? { fairnessKey } : {}),
    ...(fairnessWeight !== undefined ? { fairnessWeight } : {}),
  };
}

/**
 * The resume-cost bound: the most items one interruption can make waymark redo, C x max(k, M)
 * (for adaptive lanes, C is their max).
 * Everything committed is skipped on resume (I3), so the bound does not depend on slice size.
 */
export function resumeCostBound(spec: Pick<BatchSpec, 'concurrency' | 'commitGroup' | 'itemsPerCall'>): number {
  // Adaptive lanes may reach their max at any moment: the bound is max's.
  return laneCeiling(spec.concurrency) * uncommittedPerSlice(spec);
}
