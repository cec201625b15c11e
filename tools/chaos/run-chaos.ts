/**
 * `npm run chaos`: a batch of 100,000 items under fire (20 worker SIGKILLs, a dev server SIGKILL,
 * a worker SIGTERM), then checked item by item. Prints a table; exits 1 when anything was lost,
 * had two outcomes, or an interruption cost more than the bound waymark reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { defaultChaosOptions, type ChaosOptions } from './chaos-options';
import { formatReport } from './chaos-report';
import { runChaos } from './chaos-run';

function wholeNumber(flag: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes a whole number of at least ${min}, got "${raw}"`);
    }
    return n;
  };
}

function buildProgram(): Command {
  const d = defaultChaosOptions();
  return new Command('chaos')
    .description('run a batch while killing its workers and server, then check that nothing was lost or done twice beyond the bound')
    .option('--items <n>', 'items in the batch', wholeNumber('--items', 1), d.items)
    .option('--worker-kills <n>', 'worker SIGKILLs, each followed by a restart', wholeNumber('--worker-kills', 0), d.workerKills)
    .option(
      '--server-kills <n>',
      'dev server SIGKILLs, each followed by a restart on the same SQLite file',
      wholeNumber('--server-kills', 0),
      d.serverKills,
    )
    .option(
      '--worker-terms <n>',
      'worker SIGTERMs (graceful shutdown), each followed by a restart',
      wholeNumber('--worker-terms', 0),
      d.workerTerms,
    )
    .option('--workers <n>', 'worker processes', wholeNumber('--workers', 1), d.workers)
    .option('--item-ms <ms>', 'time the processor takes per item', wholeNumber('--item-ms', 0), d.itemMs)
    .option('--concurrency <n>', 'C: slices in flight', wholeNumber('--concurrency', 1), d.concurrency)
    .option('--slice <n>', 'S: items per slice', wholeNumber('--slice', 1), d.sliceSize)
    .option(
      '--checkpoint-every <n>',
      'N: items per workflow run (default: whole rounds of C slices, about ten slices)',
      wholeNumber('--checkpoint-every', 1),
    )
    .option('--commit-group <n>', 'k: items per ledger transaction; the bound is C x k', wholeNumber('--commit-group', 1), d.commitGroup)
    .option(
      '--heartbeat-timeout-ms <ms>',
      'how soon a killed slice is retried',
      wholeNumber('--heartbeat-timeout-ms', 1000),
      d.heartbeatTimeoutMs,
    )
    .option('--seed <n>', 'seed of the interruption moments (default random; the report prints it)', wholeNumber('--seed', 0))
    .option('--data-dir <dir>', 'where the server, ledger, source and logs go (default a new temp dir)')
    .option(
      '--ledger-url <url>',
      'a PostgreSQL ledger (postgres://USER:PASSWORD@HOST:PORT/DB) shared by every worker (default WAYMARK_LEDGER_URL, else the SQLite ledger in the data dir)',
    )
    .option('--skip-baseline', 'do not time the same batch uninterrupted')
    .option('--timeout-s <s>', 'fail the run after this long', wholeNumber('--timeout-s', 1), d.timeoutMs / 1000);
}

/** The flags as commander hands them over: ChaosOptions' own names, but for --slice and --timeout-s; seed and N only when given. */
type Flags = Omit<ChaosOptions, 'sliceSize' | 'timeoutMs' | 'skipBaseline' | 'log' | 'seed' | 'checkpointEvery'> &
  Partial<Pick<ChaosOptions, 'seed' | 'checkpointEvery' | 'skipBaseline'>> & { slice: number; timeoutS: number };

async function main(): Promise<void> {
  const { slice, timeoutS, skipBaseline, ledgerUrl, ...rest } = buildProgram().parse().opts<Flags>();
  const options: Partial<ChaosOptions> = {
    ...rest,
    sliceSize: slice,
    // Not a commander default: --help would print it, password and all.
    ledgerUrl: ledgerUrl ?? (process.env.WAYMARK_LEDGER_URL || undefined),
    skipBaseline: skipBaseline ?? false,
    timeoutMs: timeoutS * 1000,
    log: (line) => console.error(line),
  };
  const report = await runChaos(options);
  // Every interruption with its redone indexes, for a closer look than the table gives.
  const reportFile = path.join(report.dataDir, `${report.batchId}-report.json`);
  fs.writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(formatReport(report));
  console.log(`details     ${reportFile}`);
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(`chaos: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
