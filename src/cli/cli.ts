/** The `waymark` command line. */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { SOURCE_KINDS, type BatchSpecInput, type SourceKind } from '../contract/batch-spec';
import { loadConfiguredProcessors } from '../processors/configured';
import { openLedger } from '../ledger/open-ledger';
import { dataDir, temporalAddress } from '../settings';
import { BATCH_WORKFLOW_TYPE, configureUpdate, pauseSignal, progressQuery, resumeSignal, type BatchProgress } from '../contract/messages';
import { WAYMARK_FAILED, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../contract/search-attributes';
import type { batchWorkflow } from '../workflows/batch-workflow';
import { connectClient } from '../connection/connect';
import { CliError } from '../user-error';
import { PayloadDecryptionError } from '../codec/aes-gcm-codec';
import { LedgerUnavailableError } from '../ledger/postgres-ledger';
import { readSpecFile, startBatch, validateSpecForStart } from './start-batch';
import { rootMessage, watchBatch } from './watch-batch';
import { describeState } from '../workflows/details';
import { EXPORT_FORMATS, exportBatch, type ExportFormat } from './export-batch';
import {
  OVERLAP_POLICIES,
  batchSchedules,
  createSchedule,
  describeLines,
  describeTiming,
  existingSchedule,
  overlapText,
  parseEvery,
  summaryLine,
  type OverlapName,
  type ScheduleTiming,
} from './schedules';
import { planRedrive, redriveBatchId } from '../client/redrive-batch';
import { runWorker } from '../workers/run-worker';
import { runDevServer } from '../server/dev-server';

function wholeNumber(flag: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes a whole number of at least ${min}, got "${raw}"`);
    }
    return n;
  };
}

function keyValue(raw: string, into: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--option takes key=value (e.g. --option ms=5), got "${raw}"`);
  const value = raw.slice(eq + 1);
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Not JSON: keep the text as it is, so `--option greeting=hello` needs no quotes.
  }
  return { ...into, [raw.slice(0, eq)]: parsed };
}

function columnList(raw: string): string[] {
  const columns = raw.split(',').map((c) => c.trim());
  if (columns.some((c) => c === '')) throw new InvalidArgumentError(`--columns takes column names separated by commas, e.g. id,email,total, got "${raw}"`);
  return columns;
}

function inferKind(input: string): SourceKind {
  if (fs.existsSync(input) && fs.statSync(input).isDirectory()) return 'folder';
  const ext = path.extname(input).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  return 'text';
}

interface StartFlags {
  spec?: string;
  sourceKind?: SourceKind;
  processor?: string;
  option?: Record<string, unknown>;
  slice?: number;
  checkpointEvery?: number;
  concurrency?: number;
  commitGroup?: number;
  attempts?: number;
  itemTimeout?: number;
  keyColumn?: string;
  columns?: string[];
  urlEnv?: string;
  batchId?: string;
  wait?: boolean;
}

/** Flags that describe a postgres-table source, by their spec field. */
const TABLE_FLAGS = { keyColumn: '--key-column', columns: '--columns', urlEnv: '--url-env' } as const;

function specFromFlags(input: string | undefined, flags: StartFlags, command: string[]): unknown {
  if (flags.spec) {
    const conflicting = ['sourceKind', 'processor', 'option', 'slice', 'checkpointEvery', 'concurrency', 'commitGroup', 'attempts', 'itemTimeout', ...Object.keys(TABLE_FLAGS)].filter(
      (k) => flags[k as keyof StartFlags] !== undefined,
    );
    if (input || conflicting.length || command.length) {
      throw new CliError('--spec takes the whole batch from the file; drop the input file and spec flags, or drop --spec');
    }
    return readSpecFile(flags.spec);
  }
  if (!input) throw new CliError('say what to process: `waymark start FILE --processor NAME`, or `waymark start --spec spec.json`');
  if (!flags.processor) throw new CliError('--processor is required (e.g. --processor sha256, or --processor exec -- your-command)');
  const options: Record<string, unknown> = { ...flags.option };
  if (command.length) {
    if (flags.processor !== 'exec') {
      throw new CliError(`a command after -- is only for --processor exec, not ${flags.processor}; drop the command, or use --processor exec`);
    }
    options.command = command;
  }
  const kind = flags.sourceKind ?? inferKind(input);
  const tableFlags = (Object.keys(TABLE_FLAGS) as (keyof typeof TABLE_FLAGS)[]).filter((k) => flags[k] !== undefined);
  if (kind !== 'postgres-table' && tableFlags.length) {
    throw new CliError(
      `${tableFlags.map((k) => TABLE_FLAGS[k]).join(', ')} describe a PostgreSQL table; add --source-kind postgres-table and give the table as the input, or drop them`,
    );
  }
  if (kind === 'postgres-table' && flags.keyColumn === undefined) {
    throw new CliError('--source-kind postgres-table needs --key-column COLUMN: the integer key column (NOT NULL, unique) whose order is the item order');
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
  };
  return spec;
}

function printProgress(batchId: string, p: BatchProgress): void {
  const total = p.total === undefined ? '?' : String(p.total);
  console.log(`batch     ${batchId}`);
  console.log(`state     ${describeState(p)}`);
  console.log(`items     ${p.succeeded + p.failed}/${total} (succeeded ${p.succeeded}, failed ${p.failed})`);
  console.log(`cursor    ${p.cursor}   runs ${p.runs}   slices in flight ${p.slicesInFlight}`);
  console.log(`redone    ${p.redone}   resume-cost bound ${p.resumeCostBound} items per interruption`);
}

/** A handle to a batch that exists and is still running, or one clear line why not. */
async function runningBatch(batchId: string) {
  const client = await connectClient();
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no batch "${batchId}" on ${temporalAddress()}; check the id with \`waymark list\``);
    throw err;
  }
  if (status !== 'RUNNING') throw new CliError(`batch "${batchId}" is not running (${status}); see it with \`waymark status ${batchId}\``);
  return handle;
}

export function buildProgram(): Command {
  const program = new Command('waymark')
    .description('Long batch jobs on Temporal where an interruption costs a small, chosen number of items')
    .showHelpAfterError('(run `waymark help` for the commands)')
    // Commander's own parse errors read like every other waymark error.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'waymark: ')) });

  program
    .command('dev')
    .description('run the Temporal dev server in the foreground, state kept in the data dir (default ./.waymark)')
    .option('--port <port>', 'gRPC port', wholeNumber('--port', 1), 7233)
    .option('--ui-port <port>', 'Web UI port', wholeNumber('--ui-port', 1), 8233)
    .action(async (o: { port: number; uiPort: number }) => {
      process.exitCode = await runDevServer({ dataDir: dataDir(), port: o.port, uiPort: o.uiPort });
    });

  program
    .command('worker')
    .description('run a worker: executes batches from the task queue until SIGINT/SIGTERM')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port or host:port (default WAYMARK_METRICS_PORT)')
    .action(async (o: { metricsPort?: string }) => {
      await runWorker({ metricsPort: o.metricsPort });
    });

  program
    .command('start')
    .description('start a batch over a file, a folder or a PostgreSQL table (or from --spec FILE)')
    .argument('[input]', 'JSONL, text or CSV file, a folder of files, or a table (table or schema.table) with --source-kind postgres-table')
    .argument('[command...]', 'for --processor exec: the command to run per item, after --')
    .option('--spec <file>', 'the batch spec as JSON (the same document `temporal workflow start --input-file` takes)')
    .option('--source-kind <kind>', `how to read the input: ${SOURCE_KINDS.join(', ')} (default: from the file name)`)
    .option('--processor <name>', 'processor: noop, sleep, sha256, exec, or one from WAYMARK_PROCESSORS')
    .option('--option <key=value>', 'processor option, repeatable (value parsed as JSON when it is JSON)', keyValue)
    .option('--slice <n>', 'S: items per slice (one activity)', wholeNumber('--slice', 1))
    .option('--checkpoint-every <n>', 'N: items per workflow run before continue-as-new', wholeNumber('--checkpoint-every', 1))
    .option('--concurrency <n>', 'C: slices in flight', wholeNumber('--concurrency', 1))
    .option('--commit-group <n>', 'k: items per ledger transaction', wholeNumber('--commit-group', 1))
    .option('--attempts <n>', 'attempts per item', wholeNumber('--attempts', 1))
    .option('--item-timeout <ms>', 'per-item timeout in milliseconds', wholeNumber('--item-timeout', 1))
    .option('--key-column <column>', 'postgres-table: the integer key column (NOT NULL, unique) whose order is the item order')
    .option('--columns <list>', 'postgres-table: the columns each item holds, comma-separated (default all)', columnList)
    .option('--url-env <variable>', 'postgres-table: the variable on every worker that holds the database URL (default WAYMARK_SOURCE_URL)')
    .option('--batch-id <id>', 'the batch id (the workflow id); default: input name and time')
    .option('--wait', 'show a live progress bar and exit when the batch completes')
    .action(async (input: string | undefined, command: string[], flags: StartFlags) => {
      if (flags.sourceKind && !SOURCE_KINDS.includes(flags.sourceKind)) {
        throw new CliError(`--source-kind must be one of ${SOURCE_KINDS.join(', ')}, got "${flags.sourceKind}"`);
      }
      loadConfiguredProcessors();
      const spec = validateSpecForStart(specFromFlags(input, flags, command));
      const client = await connectClient();
      const handle = await startBatch(client, spec, flags.batchId);
      console.log(`started batch ${handle.workflowId}`);
      if (!flags.wait) {
        console.log(`watch it with \`waymark status ${handle.workflowId} --watch\``);
        return;
      }
      const summary = await watchBatch(handle);
      printSummary(summary);
    });

  program
    .command('status')
    .description('progress of a batch')
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON')
    .option('--watch', 'follow with a live progress bar until the batch ends')
    .action(async (batchId: string, o: { json?: boolean; watch?: boolean }) => {
      const client = await connectClient();
      const handle = client.workflow.getHandle<typeof batchWorkflow>(batchId);
      let description;
      try {
        description = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no batch "${batchId}" on ${temporalAddress()}; check the id`);
        throw err;
      }
      if (o.watch && description.status.name === 'RUNNING') {
        printSummary(await watchBatch(handle));
        return;
      }
      const progress = await handle.query(progressQuery);
      if (o.json) console.log(JSON.stringify({ batchId, status: description.status.name, ...progress }, null, 2));
      else {
        printProgress(batchId, progress);
        console.log(`workflow  ${description.status.name}`);
      }
    });

  program
    .command('pause')
    .description('pause a batch: slices in flight stop at an item boundary, no new ones start')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.signal(pauseSignal);
      console.log(`pause requested for ${batchId}; \`waymark resume ${batchId}\` goes on from where it stopped`);
    });

  program
    .command('resume')
    .description('resume a paused batch')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.signal(resumeSignal);
      console.log(`resumed ${batchId}`);
    });

  program
    .command('cancel')
    .description('cancel a batch gracefully: slices stop at an item boundary, what is done is kept')
    .argument('<batch>', 'batch id')
    .action(async (batchId: string) => {
      const handle = await runningBatch(batchId);
      await handle.cancel();
      console.log(`cancel requested for ${batchId}; its manifest will list the pending items`);
    });

  program
    .command('configure')
    .description('change concurrency or slice size of a running batch (from the next slice on)')
    .argument('<batch>', 'batch id')
    .option('--concurrency <n>', 'C: slices in flight', wholeNumber('--concurrency', 1))
    .option('--slice <n>', 'S: items per slice', wholeNumber('--slice', 1))
    .action(async (batchId: string, o: { concurrency?: number; slice?: number }) => {
      if (o.concurrency === undefined && o.slice === undefined) throw new CliError('say what to change: --concurrency N and/or --slice N');
      const handle = await runningBatch(batchId);
      const change = { ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.slice !== undefined ? { sliceSize: o.slice } : {}) };
      try {
        const now = await handle.executeUpdate(configureUpdate, { args: [change] });
        console.log(`${batchId}: concurrency ${now.concurrency}, slice size ${now.sliceSize}`);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new CliError(`configure refused: ${rootMessage(err)}`);
        throw err;
      }
    });

  program
    .command('list')
    .description('batches on the server, newest first, with status and counts')
    .option('--query <query>', 'a Temporal list filter, e.g. "WaymarkFailed > 0"')
    .option('--limit <n>', 'at most this many', wholeNumber('--limit', 1), 50)
    .action(async (o: { query?: string; limit: number }) => {
      const client = await connectClient();
      const query = [`WorkflowType = '${BATCH_WORKFLOW_TYPE}'`, o.query ? `(${o.query})` : ''].filter(Boolean).join(' AND ');
      let n = 0;
      for await (const wf of client.workflow.list({ query })) {
        const attrs = wf.typedSearchAttributes;
        const status = attrs.get(WAYMARK_STATUS) ?? '-';
        const counts = attrs.get(WAYMARK_SUCCEEDED) === undefined ? '' : `succeeded ${attrs.get(WAYMARK_SUCCEEDED)}, failed ${attrs.get(WAYMARK_FAILED)}`;
        console.log(`${wf.workflowId}\t${wf.status.name}\t${status}\t${counts}\t${wf.startTime.toISOString()}`);
        if (++n >= o.limit) break;
      }
      if (n === 0) console.log(`no batches${o.query ? ` match ${o.query}` : ''} on ${temporalAddress()}`);
    });

  program
    .command('redrive')
    .description("re-run only the failed (and pending) items of a finished batch, as a linked batch merged back into it")
    .argument('<batch>', 'batch id')
    .option('--batch-id <id>', 'id of the redrive batch; default: BATCH-redrive-TIME')
    .option('--wait', 'show a live progress bar and exit when the redrive completes')
    .action(async (batchId: string, o: { batchId?: string; wait?: boolean }) => {
      loadConfiguredProcessors();
      const ledger = openLedger();
      let plan;
      try {
        plan = await planRedrive(ledger, batchId);
      } finally {
        await ledger.close();
      }
      const client = await connectClient();
      const handle = await startBatch(client, plan.spec, o.batchId ?? redriveBatchId(plan.redriven));
      console.log(`started redrive ${handle.workflowId} of ${plan.items} item(s) of batch ${plan.redriven}`);
      if (!o.wait) return;
      printSummary(await watchBatch(handle));
      console.log(`merged into ${plan.redriven}: \`waymark export ${plan.redriven} --out DIR\` shows the final state`);
    });

  program
    .command('failures')
    .description("the batch's compensating record: items that failed, with their errors")
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON lines')
    .action(async (batchId: string, o: { json?: boolean }) => {
      const ledger = openLedger();
      try {
        // Without this, a mistyped id would read as a batch with no failures.
        if (!(await ledger.batch(batchId))) {
          throw new CliError(`no batch "${batchId}" in this ledger; check the batch id (the one \`waymark start\` printed), or set WAYMARK_DATA_DIR to the worker's data dir`);
        }
        let n = 0;
        for await (const f of ledger.outcomes(batchId, 'failed')) {
          n++;
          if (o.json) {
            console.log(JSON.stringify({ index: f.index, error: { type: f.errorType, message: f.errorMessage }, attempts: f.attempts }));
          } else {
            console.log(`${f.index}\t${f.errorType}\t${f.attempts} attempt(s)\t${(f.errorMessage ?? '').split('\n')[0]}`);
          }
        }
        if (!o.json) console.log(`${n} failed item(s) in batch ${batchId}`);
      } finally {
        await ledger.close();
      }
    });

  program
    .command('export')
    .description('write results, failures and pending items of a finished batch, and manifest.json listing them')
    .argument('<batch>', 'batch id')
    .requiredOption('--out <dir>', 'folder to write into')
    .addOption(new Option('--format <format>', 'jsonl: results.jsonl, failures.jsonl, pending.jsonl; csv: the same as .csv').choices(EXPORT_FORMATS).default('jsonl'))
    .action(async (batchId: string, o: { out: string; format: ExportFormat }) => {
      const ledger = openLedger();
      try {
        const r = await exportBatch(ledger, batchId, path.resolve(o.out), o.format);
        const pending = r.pending > 0 ? `, ${r.pending} pending` : '';
        console.log(`wrote ${r.results} results, ${r.failures} failures${pending} and manifest.json to ${r.dir}`);
      } finally {
        await ledger.close();
      }
    });

  addScheduleCommands(program);

  return program;
}

function addScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('start batches on a cron expression or an interval, with a Temporal Schedule');

  schedule
    .command('create')
    .description('create a schedule; each run is a batch of its own, id ID-<scheduled time>')
    .requiredOption('--id <id>', 'schedule id; the prefix of the batch ids it starts')
    .option('--cron <expr>', 'when to start a batch, e.g. "0 2 * * *" (02:00 UTC every day)')
    .option('--every <duration>', 'start a batch at this interval, e.g. 30m, 1h, 1d')
    .requiredOption('--spec <file>', 'the batch spec as JSON (as for `waymark start --spec`)')
    .addOption(
      new Option('--overlap <policy>', 'what happens when a batch is due while the previous one runs').choices(Object.keys(OVERLAP_POLICIES)).default('skip'),
    )
    .action(async (o: { id: string; cron?: string; every?: string; spec: string; overlap: OverlapName }) => {
      if ((o.cron === undefined) === (o.every === undefined)) {
        throw new CliError('say when, with exactly one of --cron EXPR (e.g. "0 2 * * *") or --every DURATION (e.g. 1h)');
      }
      const timing: ScheduleTiming = o.cron !== undefined ? { cron: o.cron } : { every: o.every! };
      if ('every' in timing) parseEvery(timing.every);
      loadConfiguredProcessors();
      const spec = validateSpecForStart(readSpecFile(o.spec));
      const client = await connectClient();
      await createSchedule(client, { scheduleId: o.id, timing, spec, overlap: o.overlap });
      console.log(`created schedule ${o.id}: ${describeTiming(timing)}; each run is a batch ${o.id}-<scheduled time>`);
      console.log(`overlap ${overlapText(OVERLAP_POLICIES[o.overlap])}`);
      console.log(`see it with \`waymark schedule describe ${o.id}\``);
    });

  schedule
    .command('list')
    .description('schedules that start batches, with state, timing, next run and last batch')
    .action(async () => {
      const client = await connectClient();
      let n = 0;
      for await (const s of batchSchedules(client)) {
        console.log(summaryLine(s));
        n++;
      }
      if (n === 0) console.log(`no batch schedules on ${temporalAddress()}`);
    });

  schedule
    .command('describe')
    .description('timing, state, overlap policy, the batch it starts, and its recent and running batches')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { description } = await existingSchedule(await connectClient(), id);
      for (const line of describeLines(description)) console.log(line);
    });

  schedule
    .command('pause')
    .description('start no batches until unpaused; batches already running go on')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.pause('paused with `waymark schedule pause`');
      console.log(`paused schedule ${id}; batches it started go on; \`waymark schedule unpause ${id}\` resumes it`);
    });

  schedule
    .command('unpause')
    .description('start batches on time again')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.unpause('unpaused with `waymark schedule unpause`');
      console.log(`unpaused schedule ${id}`);
    });

  schedule
    .command('trigger')
    .description("start a batch now, under the schedule's overlap policy")
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle, description } = await existingSchedule(await connectClient(), id);
      // The client's default for a trigger is ALLOW_ALL; the schedule's own policy keeps its promise.
      await handle.trigger(description.policies.overlap);
      const running = description.info.runningActions.map((a) => a.workflow.workflowId);
      if (description.policies.overlap === 'SKIP' && running.length > 0) {
        console.log(`triggered schedule ${id}, but batch ${running.join(', ')} from it still runs: under overlap SKIP no batch starts now`);
      } else {
        console.log(`triggered schedule ${id}: a batch ${id}-<now> starts; see it with \`waymark schedule describe ${id}\``);
      }
    });

  schedule
    .command('delete')
    .description('delete a schedule; batches it started go on')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.delete();
      console.log(`deleted schedule ${id}; batches it started go on (see \`waymark list\`)`);
    });
}

function printSummary(s: import('../contract/messages').BatchSummary): void {
  console.log(
    `batch ${s.batchId} completed: ${s.total} items (succeeded ${s.succeeded}, failed ${s.failed}) in ${(s.durationMs / 1000).toFixed(1)} s, ` +
      `${s.itemsPerSecond} items/s, ${s.runs} workflow run(s), redone ${s.redone} (bound ${s.resumeCostBound} per interruption)`,
  );
  console.log(`manifest: ${s.manifestPath}`);
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError || err instanceof PayloadDecryptionError || err instanceof LedgerUnavailableError) {
      console.error(`waymark: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

if (require.main === module) void main();
