/** `waymark failures`: the batch's compensating record. */
import type { Command } from 'commander';
import { openLedger } from '../../ledger/open-ledger';
import { CliError } from '../../user-error';

export function addFailuresCommand(program: Command): void {
  program
    .command('failures')
    .description("the batch's compensating record: items that failed, with their errors")
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON lines')
    .action(failures);
}

async function failures(batchId: string, o: { json?: boolean }): Promise<void> {
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
}
