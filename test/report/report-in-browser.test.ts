/**
 * `waymark report` as a person opens it: a real batch on the dev server (items that fail with two
 * types, report token usage, one quota stop; the batch paused for two seconds midway), its report
 * written from the ledger and the workflow histories, then opened from disk in headless Chromium
 * with every network request refused. The page must render with no console error, every chart
 * must hold data, the bands must show the pause and the quota wait, and the numbers in the
 * tables must be the ledger's.
 *
 * WAYMARK_UPDATE_SCREENSHOT=1 writes the screenshot to docs/report-batch.png (the docs' picture).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor, NonRetryableItemError, QuotaExhaustedError } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { pauseSignal, progressQuery, resumeSignal } from '../../src/contract/messages';
import { batchReport } from '../../src/report/batch-report';
import { reportHtml } from '../../src/report/report-page';
import { formatUsage } from '../../src/workflows/details';
import { devServerSuite } from '../helpers/dev-server-suite';
import { chromiumMissing, haveChromium, IN_CI, launchChromium } from '../helpers/chromium';
import { makeTempDir } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';
import { allOutcomes } from '../helpers/ledger-rows';

const TASK_QUEUE = 'report-browser';
const BATCH_ID = 'orders-report';
const ITEMS = 400;
const QUOTA_AT = 150;
const DOCS_SCREENSHOT = path.resolve(__dirname, '../../docs/report-batch.png');

let quotaSpent = false;
registerProcessor(
  'report-orders',
  defineProcessor(async (item, ctx) => {
    await sleep(15);
    if (ctx.index === QUOTA_AT && !quotaSpent) {
      quotaSpent = true;
      throw new QuotaExhaustedError(1500);
    }
    if (ctx.index % 37 === 0) throw new NonRetryableItemError(`sku discontinued in the ${ctx.index % 2 ? 'EU' : 'US'}`, 'discontinued');
    if (ctx.index % 53 === 0) throw new NonRetryableItemError('address <unknown> & unverifiable', 'bad-address');
    ctx.reportUsage({ tokens: 100 + (ctx.index % 10) });
    return String(item).length;
  }),
);

if (!haveChromium && !IN_CI) console.warn('Skipping the report browser test: /usr/bin/chromium is missing (scripts/install-chromium.sh).');

(haveChromium || IN_CI ? describe : describe.skip)('the report of a batch, in Chromium', () => {
  const suite = devServerSuite('waymark-report-');

  it('renders offline with no console error; its charts hold data, its bands show the pause and the quota wait, its numbers are the ledger’s', async () => {
    if (!haveChromium) throw chromiumMissing('the report browser test');
    const file = path.join(suite.dir, 'orders.txt');
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => `order ${i}`).join('\n') + '\n');
    const spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'report-orders' },
      sliceSize: 50,
      checkpointEvery: 200,
      concurrency: 4,
      itemBackoffMs: 0,
    });
    const worker = await suite.worker(TASK_QUEUE);
    await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, spec, BATCH_ID, TASK_QUEUE);
      await waitFor('a fifth of the items', async () => {
        const p = await handle.query(progressQuery);
        return p.succeeded + p.failed >= ITEMS / 5;
      });
      await handle.signal(pauseSignal);
      await sleep(2000);
      await handle.signal(resumeSignal);
      await handle.result();
    });

    const report = await batchReport(BATCH_ID, { ledger: suite.ledger, client: suite.env.client });
    const out = path.join(makeTempDir('waymark-report-html-'), 'report.html');
    fs.writeFileSync(out, reportHtml(report));

    const rows = await allOutcomes(suite.ledger, BATCH_ID);
    const totals = await suite.ledger.totals(BATCH_ID);
    const usage = await suite.ledger.usageTotals(BATCH_ID);
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(rows).toHaveLength(ITEMS);

    const context = await launchChromium(makeTempDir('waymark-chromium-'));
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      const requested: string[] = [];
      await context.route('**/*', async (route) => {
        const url = route.request().url();
        if (url.startsWith('file://')) return route.continue();
        requested.push(url);
        return route.abort();
      });
      await page.goto(`file://${out}`);
      await page.waitForSelector('#chart-interruptions, #chart-lanes canvas');

      expect(problems).toEqual([]);
      expect(requested).toEqual([]);

      // Every chart drew a canvas from points that are there.
      for (const id of ['chart-throughput', 'chart-failures', 'chart-lanes', 'chart-usage']) {
        const chart = page.locator(`#${id}`);
        expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
        expect(await chart.locator('canvas').count()).toBe(1);
      }

      // The summary is the ledger's.
      const field = async (name: string) => (await page.locator(`#summary td[data-field="${name}"]`).innerText()).trim();
      expect(await field('batchId')).toBe(BATCH_ID);
      expect(await field('status')).toBe('completed');
      expect(await field('total')).toBe(String(ITEMS));
      expect(await field('succeeded')).toBe(String(totals.succeeded));
      expect(await field('failed')).toBe(String(totals.failed));
      expect(await field('redone')).toBe(String(totals.redone));
      expect(await field('resumeCostBound')).toBe('4 items per interruption');
      expect(await field('usage')).toBe(formatUsage(usage));
      expect(totals.succeeded + totals.failed).toBe(ITEMS);

      // The failure messages are the ledger's failure rows, grouped and counted.
      const expected = new Map<string, number>();
      for (const r of failed) expected.set(`${r.errorType}|${r.errorMessage}`, (expected.get(`${r.errorType}|${r.errorMessage}`) ?? 0) + 1);
      const shown = await page
        .locator('#failure-messages tr')
        .evaluateAll((trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
      // Three messages, so all are listed, the most frequent first.
      expect(expected.size).toBe(3);
      expect(shown.map(([n, type, message]) => [`${type}|${message}`, Number(n)])).toEqual([...expected].sort((a, b) => b[1] - a[1]));
      expect(shown.some(([, , message]) => message === 'address <unknown> & unverifiable')).toBe(true);

      // The pause and the quota wait are bands, each named in the legend with its time.
      const legend = await page.locator('#bands').innerText();
      expect(legend).toContain('paused');
      expect(legend).toContain('waiting for quota');
      const spent = await page.locator('#bands + p.note').innerText();
      expect(spent).toMatch(/paused [1-9]/);
      expect(spent).toMatch(/waiting for quota [1-9]/);
      expect('bands' in report.history && report.history.bands.map((b) => b.kind).sort()).toEqual(['paused', 'quota']);

      const shot = process.env.WAYMARK_UPDATE_SCREENSHOT === '1' ? DOCS_SCREENSHOT : path.join(path.dirname(out), 'report.png');
      await page.screenshot({ path: shot, fullPage: true, animations: 'disabled', caret: 'hide' });
    } finally {
      await context.close();
    }
  });
});
