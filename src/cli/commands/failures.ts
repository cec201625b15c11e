/** `waymark failures`: the batch's compensating record. */
import type { Command } from 'commander';
import { existingLedger } from '../../ledger/open-ledger';
import { batchRecord } from '../batch-record';
import { printable } from '../terminal-text';

export function addFailuresCommand(program: Command): void {
  program
    .command('failures')
    .description("the batch's compensating record: items that failed, with their errors")
    .argument('<batch>', 'batch id')
    .option('--json', 'print JSON lines')
    .action(failures);
}

async function failures(batchId: string, o: { json?: boolean }): Promise<void> {
  // Read-only: a mistyped data dir must not leave an empty ledger behind.
  const ledger = existingLedger();
  try {
    // Without this, a mistyped id, or a batch that failed before any item, would read as a batch with no failures.
    await batchRecord(ledger, batchId, 'list', false);
    let n = 0;
    for await (const f of ledger!.outcomes(batchId, 'failed')) {
      n++;
      if (o.json) {
        console.log(JSON.stringify({ index: f.index, error: { type: f.errorType, message: f.errorMessage }, attempts: f.attempts }));
      } else {
        const message = printable((f.errorMessage ?? '').split('\n')[0]);
        console.log(`${f.index}\t${printable(f.errorType ?? '')}\t${f.attempts} attempt(s)\t${message}`);
      }
    }
    if (!o.json) console.log(`${n} failed item(s) in batch ${batchId}`);
  } finally {
    await ledger?.close();
  }
}
