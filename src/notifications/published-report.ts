/**
 * The report a finished batch's notification links to, where the worker can publish one: with
 * WAYMARK_REPORT_DIR set (a folder a web server serves, or one people can open), the worker
 * writes `waymark report`'s file there, and the link is WAYMARK_REPORT_URL + the file name, or
 * the file's path without it. Without WAYMARK_REPORT_DIR there is no link; the event names the
 * `waymark report BATCH` command instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Ledger } from '../ledger/ledger';
import { batchReport } from '../report/batch-report';
import { reportHtml } from '../report/report-page';

export function reportFileName(batchId: string): string {
  return `${batchId.replace(/[^A-Za-z0-9._-]/g, '_')}-report.html`;
}

/** Writes the report and returns its link, or undefined when this worker publishes none. */
export async function publishReport(batchId: string, ledger: Ledger, client: Client, env = process.env): Promise<string | undefined> {
  const dir = env.WAYMARK_REPORT_DIR;
  if (!dir) return undefined;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, reportFileName(batchId));
  // Write then rename: a reader never sees half a report, and a retry of the delivery rewrites it whole.
  fs.writeFileSync(`${file}.tmp`, reportHtml(await batchReport(batchId, { ledger, client })));
  fs.renameSync(`${file}.tmp`, file);
  const base = env.WAYMARK_REPORT_URL?.replace(/\/+$/, '');
  return base ? `${base}/${encodeURIComponent(reportFileName(batchId))}` : file;
}
