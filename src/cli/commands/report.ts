/** `waymark report`: one self-contained HTML file of charts and tables about a batch. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { existingLedger, describeLedger } from '../../ledger/open-ledger';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { batchReport } from '../../report/batch-report';
import { reportHtml } from '../../report/report-page';
import { reportFileName } from '../../notifications/published-report';

export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description('write an HTML report of a batch (charts over time, summary, failure messages) that opens with no network')
    .argument('<batch>', 'batch id')
    .option('--out <file>', 'the HTML file to write (default: BATCH-report.html)')
    .action(writeReport);
}

async function writeReport(batchId: string, o: { out?: string }): Promise<void> {
  const out = path.resolve(o.out ?? reportFileName(batchId));
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) {
    throw new CliError(`--out ${out} is a folder; give the file to write, e.g. --out ${path.join(out, reportFileName(batchId))}`);
  }
  if (!fs.existsSync(path.dirname(out)))
    throw new CliError(`cannot write ${out}: the folder ${path.dirname(out)} does not exist; create it first`);
  // Read-only: a mistyped data dir must not leave an empty ledger behind.
  const ledger = existingLedger();
  if (ledger === undefined) {
    throw new CliError(
      `no ${describeLedger()}: no worker has run with this data dir; set WAYMARK_DATA_DIR to the worker's data dir (or WAYMARK_LEDGER_URL to its PostgreSQL ledger)`,
    );
  }
  let client: Client | undefined;
  let noClientBecause: string | undefined;
  try {
    if ((await ledger.batch(batchId)) === undefined) {
      throw new CliError(
        `no batch "${batchId}" in this ledger (${describeLedger()}); check the batch id (the one \`waymark start\` printed)`,
      );
    }
    try {
      client = await connectClient();
    } catch (err) {
      noClientBecause = (err as Error).message;
    }
    const report = await batchReport(batchId, { ledger, client, noClientBecause });
    fs.writeFileSync(out, reportHtml(report));
    const bands = 'unavailable' in report.history ? `; no bands for pauses and waits: ${report.history.unavailable}` : '';
    console.log(`wrote ${out} (${report.timeline.items.toLocaleString('en-US')} items${bands})`);
  } finally {
    await client?.connection.close();
    await ledger.close();
  }
}
