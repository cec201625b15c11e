/**
 * `npm run bench:report`: the size of `waymark report` for a 1,000,000-item batch and the time to
 * make it, on a SQLite ledger filled directly (no Temporal): six hours of items over 8 lanes, 3 %
 * failed across 12 error types with messages that quote the item, token usage on every item, and
 * a few interruptions of 8 redone items each. The target: under 2 MB, under 10 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteLedger } from '../src/ledger/sqlite-ledger';
import type { OutcomeToCommit } from '../src/ledger/ledger';
import { batchReport } from '../src/report/batch-report';
import { reportHtml } from '../src/report/report-page';

const ITEMS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 'report-size';
const LANES = 8;
const SPAN_MS = 6 * 3600_000;
const GROUP = 1000;

async function fill(ledger: SqliteLedger): Promise<void> {
  const t0 = Date.parse('2026-12-01T08:00:00Z');
  const perItem = SPAN_MS / (ITEMS / LANES);
  await ledger.saveBatch({
    batchId: BATCH,
    spec: {
      source: { kind: 'jsonl', path: '/data/items.jsonl' },
      processor: { name: 'http' },
      concurrency: LANES,
      budget: { unit: 'tokens', max: 9e8 },
    },
  });
  for (let start = 0; start < ITEMS; start += GROUP) {
    const outcomes: OutcomeToCommit[] = [];
    for (let index = start; index < Math.min(ITEMS, start + GROUP); index++) {
      const startedAt = t0 + Math.floor(index / LANES) * perItem + (index % LANES) * 7;
      const failed = index % 33 === 0;
      outcomes.push({
        index,
        status: failed ? 'failed' : 'succeeded',
        ...(failed
          ? {
              errorType: `http-${400 + (index % 12)}`,
              errorMessage: `item ${index}: the API answered ${400 + (index % 12)} for order #${index * 7}`,
            }
          : { resultJson: JSON.stringify({ sha: index.toString(16).padStart(64, '0') }) }),
        attempts: failed ? 3 : 1,
        usage: { tokens: 500 + (index % 700) },
        startedAt,
        finishedAt: startedAt + perItem * 0.9,
      });
    }
    await ledger.commit(BATCH, start, outcomes, null);
  }
  for (let k = 1; k <= 5; k++) {
    const at = Math.floor((ITEMS / 6) * k);
    for (let lane = 0; lane < LANES; lane++) await ledger.recordInterruption(BATCH, at + lane, 'crash');
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-report-size-'));
  const ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  try {
    const f0 = performance.now();
    await fill(ledger);
    console.log(`filled ${ITEMS.toLocaleString('en-US')} items in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
    const t0 = performance.now();
    const report = await batchReport(BATCH, { ledger, noClientBecause: 'measured without a server' });
    const html = reportHtml(report);
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, html);
    const seconds = (performance.now() - t0) / 1000;
    const mb = fs.statSync(file).size / 1024 / 1024;
    console.log(
      `report of ${report.timeline.items.toLocaleString('en-US')} items: ${mb.toFixed(2)} MB in ${seconds.toFixed(1)} s (target: under 2 MB, under 10 s)`,
    );
    if (mb >= 2 || seconds >= 10) process.exitCode = 1;
  } finally {
    await ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
