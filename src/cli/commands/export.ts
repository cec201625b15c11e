/** `waymark export`: results, failures and pending items of a finished batch, as files. */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { existingLedger } from '../../ledger/open-ledger';
import { batchRecord } from '../batch-record';
import { checkOutDir, EXPORT_FORMATS, exportBatch, type ExportFormat } from '../export-batch';

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('write results, failures and pending items of a finished batch, and manifest.json listing them')
    .argument('<batch>', 'batch id')
    .requiredOption('--out <dir>', 'folder to write into')
    .addOption(
      new Option('--format <format>', 'jsonl: results.jsonl, failures.jsonl, pending.jsonl; csv: the same as .csv')
        .choices(EXPORT_FORMATS)
        .default('jsonl'),
    )
    .action(writeExport);
}

async function writeExport(batchId: string, o: { out: string; format: ExportFormat }): Promise<void> {
  const out = path.resolve(o.out);
  checkOutDir(out);
  // Read-only until the batch is known: a mistyped data dir must not leave an empty ledger behind.
  const ledger = existingLedger();
  try {
    await batchRecord(ledger, batchId, 'export', true);
    const r = await exportBatch(ledger!, batchId, out, o.format);
    const pending = r.pending > 0 ? `, ${r.pending} pending` : '';
    console.log(`wrote ${r.results} results, ${r.failures} failures${pending} and manifest.json to ${r.dir}`);
  } finally {
    await ledger?.close();
  }
}
