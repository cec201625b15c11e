/** `waymark start`: a batch from an input and flags, or from a spec file. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SOURCE_KINDS, type BatchSpecInput, type SourceKind } from '../../contract/batch-spec';
import { loadConfiguredProcessors } from '../../processors/configured';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { TASK_QUEUE } from '../../settings';
import { batchIdFlag, budgetFlag, columnList, concurrencyFlag, decimal, keyValue, rateLimitFlag, wholeNumber } from '../flag-values';
import type { Concurrency } from '../../contract/adaptive-concurrency';
import { finishWatched } from '../print-summary';
import { readSpecFile, startBatch, validateSpecForStart } from '../start-batch';
import { watchBatch } from '../watch-batch';
import { progressQuery } from '../../contract/messages';
import { lanesInUse } from '../../workflows/details';
import { workerPolls } from '../worker-presence';
import { addNotifyOptions, notifyTargets, type NotifyFlags } from '../notify-flags';
import { processorNames } from '../../processors/registry';

export interface StartFlags extends NotifyFlags {
  spec?: string;
  sourceKind?: SourceKind;
  processor?: string;
  option?: Record<string, unknown>;
  slice?: number;
  checkpointEvery?: number;
  concurrency?: Concurrency;
  commitGroup?: number;
  attempts?: number;
  itemTimeout?: number;
  keyColumn?: string;
  columns?: string[];
  urlEnv?: string;
  budget?: { unit: string; max: number };
  rateLimit?: ReturnType<typeof rateLimitFlag>;
  rateBurst?: number;
  rateUnit?: string;
  priority?: number;
  fairnessKey?: string;
  fairnessWeight?: number;
  batchId?: string;
  wait?: boolean;
}

/** Processors whose `command` option may follow `--` on the command line. */
const COMMAND_PROCESSORS = ['exec', 'exec-persistent'];

/** Flags that describe a postgres-table source, by their spec field. */
const TABLE_FLAGS = { keyColumn: '--key-column', columns: '--columns', urlEnv: '--url-env' } as const;

export function addStartCommand(program: Command): void {
  const start = program
    .command('start')
    .description('start a batch over a file, a folder or a PostgreSQL table (or from --spec FILE)')
    .argument('[input]', 'JSONL, text or CSV file, a folder of files, or a table (table or schema.table) with --source-kind postgres-table')
    .argument('[command...]', `for --processor ${COMMAND_PROCESSORS.join(' or ')}: the command to run, after --`)
    .option('--spec <file>', 'the batch spec as JSON (the same document `temporal workflow start --input-file` takes)')
    .option('--source-kind <kind>', `how to read the input: ${SOURCE_KINDS.join(', ')} (default: from the file name)`)
    .option('--processor <name>', `processor: ${processorNames().join(', ')}, or one from WAYMARK_PROCESSORS`)
    .option('--option <key=value>', 'processor option, repeatable (value parsed as JSON when it is JSON)', keyValue)
    .option('--slice <n>', 'S: items per slice (one activity)', wholeNumber('--slice', 1))
    .option('--checkpoint-every <n>', 'N: items per workflow run before continue-as-new', wholeNumber('--checkpoint-every', 1))
    .option(
      '--concurrency <n>',
      'C: items in flight at once (lanes), up to 1000; or auto, auto:MIN-MAX: lanes found by themselves from quota signals (auto: 1-64)',
      concurrencyFlag,
    )
    .option('--commit-group <n>', 'k: items per ledger transaction', wholeNumber('--commit-group', 1))
    .option('--attempts <n>', 'attempts per item', wholeNumber('--attempts', 1))
    .option('--item-timeout <ms>', 'per-item timeout in milliseconds', wholeNumber('--item-timeout', 1))
    .option('--key-column <column>', 'postgres-table: the integer key column (NOT NULL, unique) whose order is the item order')
    .option('--columns <list>', 'postgres-table: the columns each item holds, comma-separated (default all)', columnList)
    .option('--url-env <variable>', 'postgres-table: the variable on every worker that holds the database URL (default WAYMARK_SOURCE_URL)')
    .option(
      '--budget <unit=max>',
      'pause the batch once its items have used MAX of a usage unit the processor reports, e.g. tokens=1000000; raise it with `waymark configure BATCH --budget N`',
      budgetFlag,
    )
    .option(
      '--rate-limit <key=limit/period>',
      'a named limit shared by every batch and worker that names the key: e.g. openai=60/minute (period: second, minute, hour, day)',
      rateLimitFlag,
    )
    .option(
      '--rate-burst <n>',
      'with --rate-limit: items that may start above the rate at once (default 0)',
      wholeNumber('--rate-burst', 0),
    )
    .option(
      '--rate-unit <unit>',
      'with --rate-limit: what it counts, items (the default) or a usage unit the processor reports, e.g. tokens (charged as each item ends)',
    )
    .option(
      '--priority <n>',
      'Temporal task priority, 1 (first) to 5 (last), default 3: waiting tasks go in priority order; a running slice is never preempted',
      wholeNumber('--priority', 1),
    )
    .option('--fairness-key <key>', 'Temporal fairness key (a tenant, a team): keys share the task queue by weight')
    .option('--fairness-weight <w>', 'weight of the fairness key, 0.001 to 1000 (default 1)', decimal('--fairness-weight', 0.001, 1000))
    .option('--batch-id <id>', 'the batch id (the workflow id); default: input name and time', batchIdFlag)
    .option('--wait', 'show a live progress bar and exit when the batch completes');
  addNotifyOptions(start, "where to send the batch's events (finished, failed, budget reached, long quota wait, stalled, ...)").action(
    startBatchCommand,
  );
}

async function startBatchCommand(input: string | undefined, command: string[], flags: StartFlags): Promise<void> {
  if (flags.sourceKind && !SOURCE_KINDS.includes(flags.sourceKind)) {
    throw new CliError(`--source-kind must be one of ${SOURCE_KINDS.join(', ')}, got "${flags.sourceKind}"`);
  }
  loadConfiguredProcessors();
  const spec = validateSpecForStart(specFromFlags(input, flags, command));
  const client = await connectClient();
  const handle = await startBatch(client, spec, flags.batchId);
  console.log(`started batch ${handle.workflowId}`);
  const lanes = await lanesShortAtStart(handle, client);
  if (lanes) console.log(`lanes in use: ${lanes}`);
  if (!flags.wait) {
    console.log(`watch it with \`waymark status ${handle.workflowId} --watch\``);
    return;
  }
  finishWatched(await watchBatch(handle, TASK_QUEUE));
}

/** How long `start` waits for the first window's plan to say whether every lane has work. */
const LANES_CHECK_MS = 3000;

/**
 * When the batch cannot keep C lanes busy (fewer items than C), says so right away: how many
 * lanes run and why. Asked of the workflow once its first window is planned; a batch no worker
 * polls for, or that no worker has planned within LANES_CHECK_MS, is not waited for. Each query
 * carries the deadline, so an unanswered one cannot keep `start` from exiting.
 */
async function lanesShortAtStart(
  handle: Awaited<ReturnType<typeof startBatch>>,
  client: Awaited<ReturnType<typeof connectClient>>,
): Promise<string | undefined> {
  if (!(await workerPolls(client.workflow, TASK_QUEUE).catch(() => false))) return undefined;
  const deadline = Date.now() + LANES_CHECK_MS;
  while (Date.now() < deadline) {
    const progress = await client.connection.withDeadline(deadline, () => handle.query(progressQuery)).catch(() => undefined);
    if (progress === undefined) return undefined;
    // Only a batch too small for C lanes is short from the start: the last slices of a window are
    // a passing state, which a fast batch may already be in when the query arrives.
    const tooSmall = progress.total !== undefined && progress.total < progress.concurrency;
    if (progress.state !== 'planning') return progress.lanesInUse !== undefined && tooSmall ? lanesInUse(progress) : undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return undefined;
}

/** The spec the flags describe (or the --spec file), before validateSpecForStart checks it. */
export function specFromFlags(input: string | undefined, flags: StartFlags, command: string[]): unknown {
  if (flags.spec) {
    const conflicting = [
      'sourceKind',
      'processor',
      'option',
      'slice',
      'checkpointEvery',
      'concurrency',
      'commitGroup',
      'attempts',
      'itemTimeout',
      'budget',
      'rateLimit',
      'rateBurst',
      'rateUnit',
      'priority',
      'fairnessKey',
      'fairnessWeight',
      ...Object.keys(TABLE_FLAGS),
    ].filter((k) => flags[k as keyof StartFlags] !== undefined);
    if (input || conflicting.length || command.length || flags.notify) {
      throw new CliError('--spec takes the whole batch from the file; drop the input file and spec flags, or drop --spec');
    }
    const fromFile = readSpecFile(flags.spec);
    // The default target joins a spec that names none.
    const targets = notifyTargets(flags);
    if (targets === undefined || typeof fromFile !== 'object' || fromFile === null || 'notify' in fromFile) return fromFile;
    return { ...fromFile, notify: { targets } };
  }
  if (!input) throw new CliError('say what to process: `waymark start FILE --processor NAME`, or `waymark start --spec spec.json`');
  if (!flags.processor) throw new CliError('--processor is required (e.g. --processor sha256, or --processor exec -- your-command)');
  const options: Record<string, unknown> = { ...flags.option };
  if (command.length) {
    if (!COMMAND_PROCESSORS.includes(flags.processor)) {
      throw new CliError(
        `a command after -- is only for --processor ${COMMAND_PROCESSORS.join(' or ')}, not ${flags.processor}; drop the command, or use one of them`,
      );
    }
    if (options.command !== undefined) {
      throw new CliError('the command is given twice, after -- and as --option command=...; keep one');
    }
    options.command = command;
  }
  const kind = flags.sourceKind ?? inferKind(input);
  checkTableFlags(kind, flags);
  for (const [flag, value] of [
    ['--rate-burst', flags.rateBurst],
    ['--rate-unit', flags.rateUnit],
  ] as const) {
    if (value !== undefined && flags.rateLimit === undefined) {
      throw new CliError(`${flag} belongs to a rate limit; add --rate-limit KEY=LIMIT/PERIOD (e.g. openai=60/minute), or drop it`);
    }
  }
  const spec: BatchSpecInput = {
    source: { kind, path: input, keyColumn: flags.keyColumn, columns: flags.columns, urlEnv: flags.urlEnv },
    processor: { name: flags.processor, ...(Object.keys(options).length ? { options } : {}) },
    sliceSize: flags.slice,
    checkpointEvery: flags.checkpointEvery,
    concurrency: flags.concurrency,
    commitGroup: flags.commitGroup,
    itemAttempts: flags.attempts,
    itemTimeoutMs: flags.itemTimeout,
    budget: flags.budget,
    ...(notifyTargets(flags) ? { notify: { targets: notifyTargets(flags)! } } : {}),
    ...(flags.rateLimit ? { rateLimit: { ...flags.rateLimit, burst: flags.rateBurst, unit: flags.rateUnit } } : {}),
    priority: flags.priority,
    fairnessKey: flags.fairnessKey,
    fairnessWeight: flags.fairnessWeight,
  };
  return spec;
}

/** The table flags belong to a postgres-table source, which needs its key column. */
function checkTableFlags(kind: SourceKind, flags: StartFlags): void {
  const tableFlags = (Object.keys(TABLE_FLAGS) as (keyof typeof TABLE_FLAGS)[]).filter((k) => flags[k] !== undefined);
  if (kind !== 'postgres-table' && tableFlags.length) {
    throw new CliError(
      `${tableFlags.map((k) => TABLE_FLAGS[k]).join(', ')} describe a PostgreSQL table; add --source-kind postgres-table and give the table as the input, or drop them`,
    );
  }
  if (kind === 'postgres-table' && flags.keyColumn === undefined) {
    throw new CliError(
      '--source-kind postgres-table needs --key-column COLUMN: the integer key column (NOT NULL, unique) whose order is the item order',
    );
  }
}

/** File names read as one item per line without --source-kind; any other extension must be said. */
const TEXT_EXTENSIONS = ['', '.txt', '.text', '.lst', '.list', '.log', '.tsv'];

/**
 * The kind a file's name implies. A name that implies none (x.xml, x.json, x.parquet) is refused
 * rather than read as lines of text: one item per line of an XML document is rarely what was meant.
 */
function inferKind(input: string): SourceKind {
  if (fs.existsSync(input) && fs.statSync(input).isDirectory()) return 'folder';
  const ext = path.extname(input).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (TEXT_EXTENSIONS.includes(ext)) return 'text';
  const json =
    ext === '.json'
      ? ` A .json file is one document; for one item per element, write it as JSON lines (e.g. \`jq -c '.[]' ${path.basename(input)} > items.jsonl\`).`
      : '';
  throw new CliError(
    `cannot tell how to read ${input} from its name (${ext}): waymark reads JSONL (.jsonl), CSV (.csv) and text (.txt, one item per line) files, and folders. ` +
      `Give --source-kind text to take each line as an item, or --source-kind jsonl or csv.${json}`,
  );
}
