/**
 * The batch as a person sees it in the Temporal Web UI: a dev server with its Web UI on, a
 * small JSONL batch (malformed lines and rejected items, so failures by type show) run to the
 * end by an in-process worker, and headless Chromium (Debian's, driven by playwright-core)
 * opening the workflow's "User Metadata" tab, where the UI shows the static summary and details
 * given at start and the current details the workflow sets (src/workflows/details.ts).
 *
 * The UI gets current details by querying the workflow, which for a closed workflow a worker
 * answers by replaying it, so the worker stays up until the browser is done.
 *
 * Needs /usr/bin/chromium (scripts/install-chromium.sh). Without it the test is skipped, except
 * in CI (CI=true), where it fails. WAYMARK_UPDATE_SCREENSHOT=1 writes the screenshot to
 * docs/web-ui-batch.png (the picture in docs/operating.md); otherwise it goes to the OS temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { FrameLocator, Page } from 'playwright-core';
import { CHROMIUM, chromiumMissing, haveChromium, IN_CI, launchChromium } from '../helpers/chromium';
import { startDevServerInBackground, type BackgroundDevServer } from '../../src/server/dev-server';
import { createWaymarkWorker } from '../../src/workers/create-worker';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { BatchSummary } from '../../src/contract/messages';
import { startOnFreePorts } from '../../tools/support/free-port';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const UPDATE_SCREENSHOT = process.env.WAYMARK_UPDATE_SCREENSHOT === '1';
const DOCS_SCREENSHOT = path.resolve(__dirname, '../../docs/web-ui-batch.png');
/** The source file and, unless WAYMARK_UPDATE_SCREENSHOT=1, the screenshot; overwritten by each run. */
const TEMP_DIR = path.join(os.tmpdir(), 'waymark-web-ui');

const TASK_QUEUE = 'web-ui-test';
const BATCH_ID = 'orders-web-ui';
const ITEMS = 300;
/** Lines the JSONL source cannot parse (0-based): each a `parse` failure row. */
const MALFORMED = new Map([
  [42, '{"order": 43, "sku": '],
  [137, 'order 138: see attachment'],
  [250, ''],
]);
/** Orders the exec command rejects as bad data (exit 65): `exec-data-error` failure rows. */
const DISCONTINUED = new Set([99, 199]);
/** Reads one order on stdin; a discontinued SKU is bad data, anything else gets a price. */
const PRICE_SCRIPT = 'read -r order; case "$order" in *discontinued*) echo "sku discontinued" >&2; exit 65;; esac; echo priced';

if (!haveChromium && !IN_CI) {
  console.warn(`Skipping the Web UI browser test: ${CHROMIUM} is missing. Install it with scripts/install-chromium.sh.`);
}

(haveChromium || IN_CI ? describe : describe.skip)('a finished batch in the Temporal Web UI', () => {
  let server: BackgroundDevServer | undefined;
  let ledger: SqliteLedger | undefined;
  let nativeConnection: NativeConnection | undefined;
  let connection: Connection | undefined;

  afterAll(async () => {
    await nativeConnection?.close();
    await connection?.close();
    await ledger?.close();
    await server?.stop();
    removeTempDirs();
  });

  it('shows the static summary and details and the current details of the batch', async () => {
    if (!haveChromium) {
      throw chromiumMissing('the Web UI browser test');
    }
    const dir = makeTempDir('waymark-web-ui-');
    server = await startOnFreePorts(2, ([port, uiPort]) => startDevServerInBackground({ dataDir: dir, port, uiPort }));
    const file = writeOrders();
    const spec = validateSpecForStart({
      source: { kind: 'jsonl', path: file },
      processor: { name: 'exec', options: { command: ['sh', '-c', PRICE_SCRIPT] } },
      sliceSize: 25,
      checkpointEvery: ITEMS,
      concurrency: 4,
    });

    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
    nativeConnection = await NativeConnection.connect({ address: server.address });
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const workflowBundle = await bundleWaymarkWorkflows();
    const worker = await createWaymarkWorker({ connection: nativeConnection, ledger, dataDir: dir, taskQueue: TASK_QUEUE, workflowBundle });

    await worker.runUntil(async () => {
      const handle = await startBatch(client, spec, BATCH_ID, TASK_QUEUE);
      const summary: BatchSummary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS - 5, failed: 5, redone: 0, resumeCostBound: 4 });

      const context = await launchChromium(makeTempDir('waymark-chromium-'));
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await withFailureScreenshot(page, async () => {
          await page.goto(`${server!.uiUrl}/namespaces/default/workflows/${BATCH_ID}`);
          await page.getByRole('tab', { name: 'User Metadata' }).click();
          await page.waitForURL(/\/user-metadata$/);

          const summaryText = await frameText(page.frameLocator('#user-metadata-summary'), 'waymark:');
          expect(summaryText).toBe('waymark: exec over jsonl orders.jsonl');

          const detailsText = await frameText(page.frameLocator('#user-metadata-details'), 'resume-cost bound');
          expect(detailsText).toContain(`source: jsonl ${file}`);
          expect(detailsText).toContain('processor: exec');
          expect(detailsText).toContain('slice size (S): 25');
          expect(detailsText).toContain(`items per run (N): ${ITEMS}`);
          expect(detailsText).toContain('commit group (k): 1');
          expect(detailsText).toContain('items in flight (C): 4');
          expect(detailsText).toContain('resume-cost bound: 4 items per interruption');

          const current = await frameText(page.frameLocator('#user-metadata-current-details'), 'resume-cost bound');
          expect(current).toContain(`completed: ${ITEMS} of ${ITEMS} items (100.0%)`);
          expect(current).toContain(`succeeded: ${ITEMS - 5}`);
          expect(current).toContain('failed: 5 (parse 3, exec-data-error 2)');
          expect(current).toContain('ETA: -');
          expect(current).toContain(`cursor: ${ITEMS} (run 1)`);
          expect(current).toContain('lanes: 0 of C=4 in 0 slices of at most 25 items');
          expect(current).toContain('resume-cost bound: 4 items per interruption (redone so far: 0)');
          expect(current).toMatch(/speed: \d+(\.\d)? items\/s/);

          // No hover highlight on the tab just clicked, and every frame at its final height.
          await page.mouse.move(0, 0);
          await page.waitForLoadState('networkidle');
          const out = UPDATE_SCREENSHOT ? DOCS_SCREENSHOT : path.join(TEMP_DIR, 'web-ui-batch.png');
          fs.mkdirSync(path.dirname(out), { recursive: true });
          await page.screenshot({ path: out, fullPage: true, animations: 'disabled', caret: 'hide' });
          expect(fs.statSync(out).size).toBeGreaterThan(10_000);
        });
      } finally {
        await context.close();
      }
    });
  }, 90_000);
});

/**
 * The orders file: one JSON object per line, with MALFORMED lines and DISCONTINUED orders. It
 * lives at a fixed path, not in a fresh temp dir, because the static details (and so the
 * screenshot) show its path; its content is always the same, and it is replaced by a rename, so
 * runs at the same time cannot see each other's half-written file.
 */
function writeOrders(): string {
  const lines: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const malformed = MALFORMED.get(i);
    if (malformed !== undefined) lines.push(malformed);
    else lines.push(JSON.stringify({ order: i + 1, sku: DISCONTINUED.has(i) ? 'discontinued' : `sku-${i % 17}`, quantity: 1 + (i % 5) }));
  }
  const file = path.join(TEMP_DIR, 'orders.jsonl');
  const partial = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(TEMP_DIR, { recursive: true });
  fs.writeFileSync(partial, `${lines.join('\n')}\n`);
  fs.renameSync(partial, file);
  return file;
}

/**
 * The UI renders markdown in iframes (one per block) once its data has arrived: waits for `marker`
 * there, then returns the frame's text with whitespace (table cells included) collapsed to spaces.
 */
async function frameText(frame: FrameLocator, marker: string): Promise<string> {
  const body = frame.locator('body');
  await body.getByText(marker).first().waitFor({ timeout: 30_000 });
  return (await body.innerText()).replace(/\s+/g, ' ').trim();
}

/** On failure, saves what the browser showed and names the file in the error. */
async function withFailureScreenshot(page: Page, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const shot = path.join(TEMP_DIR, 'web-ui-failure.png');
    try {
      fs.mkdirSync(TEMP_DIR, { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      if (err instanceof Error) err.message += `\n(The page at ${page.url()} as the browser showed it: ${shot})`;
    } catch {
      // The screenshot is only a help; the original failure is what matters.
    }
    throw err;
  }
}
