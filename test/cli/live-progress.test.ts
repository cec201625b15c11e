/**
 * Progress counts committed items and control answers, on slow items (I12, I15): a batch of 200 ms
 * items in slices of 100 on the dev server, with a real worker process, read the way `waymark
 * status` and `--wait` read it (src/cli/batch-progress.ts: the ledger where the CLI can read it,
 * else the slices' heartbeats) and checked against the ledger. Also the Web UI's current details
 * and search attributes while one long slice runs, and what that costs in history events.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { pauseSignal, resumeSignal, progressQuery } from '../../src/contract/messages';
import type { batchWorkflow } from '../../src/workflows/batch-workflow';
import { ProgressReader } from '../../src/cli/batch-progress';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ITEMS = 400;
/** The design's promise: a commit shows in status, and a pause or cancel stops every slice, within this. */
const WITHIN_MS = 2000;

describe('progress of slow items and control that answers', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let dir: string;
  let cliEnv: Record<string, string>;
  let ledger: SqliteLedger | undefined;
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv });
  const status = async (id: string) => JSON.parse((await waymark('status', id, '--json')).stdout);
  const handle = (id: string): WorkflowHandle<typeof batchWorkflow> => env.client.workflow.getHandle<typeof batchWorkflow>(id);
  const openLedger = () => (ledger ??= new SqliteLedger(path.join(dir, 'data', 'ledger.sqlite')));
  const committed = async (id: string) => {
    const t = await openLedger().totals(id);
    return t.succeeded + t.failed;
  };
  const slicesRunning = async (id: string) => (await handle(id).describe()).raw.pendingActivities?.length ?? 0;
  /** Milliseconds from `from` until no slice of the batch is in flight on the server. */
  const untilNoSliceRuns = async (id: string, from: number): Promise<number> => {
    await waitFor(`the slices of ${id} to stop`, async () => (await slicesRunning(id)) === 0, 30_000);
    return Date.now() - from;
  };

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-progress-');
    env = await createDevServerEnv();
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: `cli-progress-${process.pid}` };
    worker = await startWorkerProcess(cliEnv);
    fs.writeFileSync(path.join(dir, 'words.txt'), Array.from({ length: ITEMS }, (_, i) => `word-${i}`).join('\n'));
  });
  afterAll(async () => {
    await ledger?.close();
    await stopWorkerProcess(worker);
    await env?.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const slowBatch = (id: string, slice: number, concurrency: number, items = ITEMS) =>
    waymark(
      'start',
      items === ITEMS ? 'words.txt' : `words-${items}.txt`,
      '--processor',
      'sleep',
      '--option',
      'ms=200',
      '--slice',
      String(slice),
      '--checkpoint-every',
      String(items),
      '--concurrency',
      String(concurrency),
      '--batch-id',
      id,
    );

  it('status counts committed items within 2 s of their commit while no slice has finished; pause and cancel stop every slice within 2 s and status, the manifest and the export agree with the ledger', async () => {
    const id = 'slow';
    expect((await slowBatch(id, 100, 2)).code).toBe(0);
    await waitFor('the first commit', async () => (await committed(id)) > 0);

    // For 6 s, while both slices are mid-way (each takes 20 s): when did each count first show
    // in the ledger, and when in the progress that status prints?
    const inLedger = new Map<number, number>();
    const inProgress = new Map<number, number>();
    const reader = new ProgressReader(handle(id), openLedger());
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      const p = await reader.read();
      const seen = Date.now();
      const l = await committed(id);
      for (let n = 1; n <= l; n++) if (!inLedger.has(n)) inLedger.set(n, seen);
      for (let n = 1; n <= p.succeeded + p.failed; n++) if (!inProgress.has(n)) inProgress.set(n, seen);
      // Never more than the ledger holds (no slice counted twice), and no slice has finished.
      expect(p.succeeded + p.failed).toBeLessThanOrEqual(l);
      expect(p.finishedSlices).toEqual({ succeeded: 0, failed: 0, redone: 0 });
      expect(p.cursor).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    const lags = [...inLedger].filter(([n]) => inProgress.has(n)).map(([n, at]) => inProgress.get(n)! - at);
    // Counts the ledger reached in the last 2 s may not show yet; every earlier one must.
    const due = [...inLedger].filter(([, at]) => at < end - WITHIN_MS).map(([n]) => n);
    expect(due.length).toBeGreaterThan(20);
    for (const n of due) expect(inProgress.has(n)).toBe(true);
    console.log(`commit to progress: max ${Math.max(...lags)} ms over ${lags.length} counts, ${reader.queries} queries`);
    expect(Math.max(...lags)).toBeLessThanOrEqual(WITHIN_MS);
    // Sixty reads cost a query only when the workflow's history moved, not one each (a query is a Cloud action).
    expect(reader.queries).toBeLessThanOrEqual(3);
    // The CLI prints the same: every commit the ledger held 2 s ago shows.
    const before = await committed(id);
    await new Promise((r) => setTimeout(r, WITHIN_MS));
    const shown = await status(id);
    expect(shown).toMatchObject({ state: 'running', cursor: 0 });
    expect(shown.succeeded).toBeGreaterThanOrEqual(before);

    const pausedAt = Date.now();
    await handle(id).signal(pauseSignal);
    const pauseMs = await untilNoSliceRuns(id, pausedAt);
    console.log(`pause to no slice in flight: ${pauseMs} ms`);
    expect(pauseMs).toBeLessThanOrEqual(WITHIN_MS);
    const atPause = await committed(id);
    expect(atPause).toBeLessThan(200);
    // The slices stopped mid-way and returned no tally: status still shows what they committed.
    await waitFor(
      'status to show the committed items of the stopped slices',
      async () => {
        const s = await status(id);
        return s.state === 'paused' && s.slicesInFlight === 0 && s.succeeded === atPause;
      },
      10_000,
    );

    await handle(id).signal(resumeSignal);
    await waitFor('more commits after resume', async () => (await committed(id)) >= atPause + 10);
    const cancelledAt = Date.now();
    await handle(id).cancel();
    const cancelMs = await untilNoSliceRuns(id, cancelledAt);
    console.log(`cancel to no slice in flight: ${cancelMs} ms`);
    expect(cancelMs).toBeLessThanOrEqual(WITHIN_MS);
    await waitFor('the batch to end cancelled', async () => (await status(id)).status === 'CANCELLED');

    const atCancel = await committed(id);
    expect(atCancel).toBeLessThan(ITEMS);
    expect(await status(id)).toMatchObject({ state: 'cancelled', succeeded: atCancel, failed: 0 });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'manifests', `${id}.json`), 'utf8'));
    expect(manifest).toMatchObject({ status: 'cancelled', succeeded: atCancel, pending: ITEMS - atCancel });
    const out = path.join(dir, 'export');
    expect(await waymark('export', id, '--out', out)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`wrote ${atCancel} results, 0 failures, ${ITEMS - atCancel} pending`),
    });
  });

  it("without the ledger, progress comes from the slices' heartbeats, within one heartbeat of a commit", async () => {
    const id = 'beats';
    const spec = {
      source: { kind: 'text', path: path.join(dir, 'words.txt') },
      processor: { name: 'sleep', options: { ms: 200 } },
      sliceSize: 200,
      checkpointEvery: 400,
      concurrency: 2,
      // The SDK sends a heartbeat at most every 0.8 x 3 s, the first one 1.5 s into the slice.
      heartbeatTimeoutMs: 3000,
    };
    fs.writeFileSync(path.join(dir, 'beats.json'), JSON.stringify(spec));
    expect((await waymark('start', '--spec', 'beats.json', '--batch-id', id)).code).toBe(0);
    await waitFor('the first commit', async () => (await committed(id)) > 0);
    const reader = new ProgressReader(handle(id));
    const lags: number[] = [];
    const end = Date.now() + 8000;
    while (Date.now() < end) {
      const before = await committed(id);
      const at = Date.now();
      await waitFor(
        'progress to reach what the ledger held',
        async () => {
          const p = await reader.read();
          return p.succeeded + p.failed >= before;
        },
        10_000,
      );
      lags.push(Date.now() - at);
      await new Promise((r) => setTimeout(r, 300));
    }
    console.log(`commit to progress through heartbeats: max ${Math.max(...lags)} ms over ${lags.length} reads`);
    // One heartbeat: the SDK's throttle of 0.8 x 3 s, plus the poll.
    expect(Math.max(...lags)).toBeLessThanOrEqual(2400 + 600);
    await handle(id).cancel();
  });

  it('the Web UI current details and WaymarkSucceeded (visibility) move within 30 s while one long slice runs, for at most 100 history events a minute', async () => {
    const id = 'long';
    fs.writeFileSync(path.join(dir, 'words-200.txt'), Array.from({ length: 200 }, (_, i) => `word-${i}`).join('\n'));
    expect((await slowBatch(id, 200, 1, 200)).code).toBe(0);
    await waitFor('the first commit', async () => (await committed(id)) > 0);
    const firstCommit = Date.now();

    const visible = `WorkflowId = '${id}' AND WaymarkSucceeded > 0`;
    await waitFor(
      'WaymarkSucceeded > 0 in visibility',
      async () => {
        for await (const _ of env.client.workflow.list({ query: visible })) return true;
        return false;
      },
      30_000,
    );
    const metadata = await handle(id).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    const shownInUi = Number(/succeeded: ([\d,]+)/.exec(metadata.currentDetails ?? '')?.[1]?.replace(/,/g, ''));
    expect(shownInUi).toBeGreaterThan(0);
    console.log(
      `first commit to WaymarkSucceeded > 0 in visibility: ${Date.now() - firstCommit} ms; current details: ${shownInUi} succeeded`,
    );
    // Still mid-slice: the counts came from the ledger, not from a finished slice.
    expect((await handle(id).query(progressQuery)).finishedSlices).toEqual({ succeeded: 0, failed: 0, redone: 0 });
    expect(await slicesRunning(id)).toBe(1);

    await waitFor('the batch to complete', async () => (await handle(id).describe()).status.name === 'COMPLETED', 60_000);
    // Events while the slice ran (after it started, before it completed): the refresh's, per minute.
    const events = (await handle(id).fetchHistory()).events ?? [];
    // An activity's started event is written only when it completes: count from its scheduling.
    const started = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'processSlice')!;
    const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(started.eventId))!;
    const during = Number(completed.eventId) - Number(started.eventId) - 2;
    const minutes = (ms(completed.eventTime) - ms(started.eventTime)) / 60_000;
    console.log(
      `refresh: ${during} events in ${(minutes * 60).toFixed(1)} s of a running slice = ${(during / minutes).toFixed(1)} a minute`,
    );
    expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toBe(true);
    expect(during / minutes).toBeLessThanOrEqual(100);
  });

  it('the --wait bar shows ?% until the source is counted, never 100% of 0 items, and no NaN ETA', async () => {
    fs.writeFileSync(path.join(dir, 'words-60.txt'), Array.from({ length: 60 }, (_, i) => `word-${i}`).join('\n'));
    const run = await waymark(
      'start',
      'words-60.txt',
      '--processor',
      'sleep',
      '--option',
      'ms=50',
      '--slice',
      '20',
      '--concurrency',
      '2',
      '--batch-id',
      'waited',
      '--wait',
    );
    expect(run.code).toBe(0);
    // cli-progress draws on stderr.
    const bars = run.stderr.split('\n').filter((line) => line.includes(' items | '));
    expect(bars.length).toBeGreaterThan(0);
    for (const line of bars) {
      expect(line).not.toMatch(/100% \| 0\/0 items/);
      expect(line).not.toMatch(/NaN|LLs|Infinity/);
    }
    expect(bars[bars.length - 1]).toMatch(/100% \| 60\/60 items \| \d+ items\/s \| ETA 0s \| failed 0 \| completed/);
  });
});

function ms(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}
