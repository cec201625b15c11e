/**
 * I16, the delivery half: real batches on the dev server send their events over HTTP to a
 * receiver on loopback. The JSON event is signed the Standard Webhooks way and verifies; the
 * Slack text names the commands; a receiver answering 500 gets the event once it recovers, with
 * the same webhook-id; a 410 is not tried again and `status` lists it; a receiver that hangs
 * does not slow the batch (measured); a stall is told in real time, once, then its resume; a
 * worker SIGKILLed while sending loses no event; and `status --watch --notify` tells what no
 * worker can: that there is no worker.
 *
 * Tests that start worker processes or the CLI run dist/ (`npm run build` first).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { defineProcessor, NonRetryableItemError } from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { undeliveredNotifications } from '../../src/cli/undelivered-notifications';
import { devServerSuite } from '../helpers/dev-server-suite';
import { waitFor } from '../helpers/wait-for';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver';
import { startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { runCli } from '../cli/run-cli';

const SECRET = `whsec_${Buffer.from('a secret of 32 bytes, not less!!').toString('base64')}`;
let gateOpen = true;
const GATE_FROM = 20;

registerProcessor(
  'walkaway-items',
  defineProcessor(async (_item, ctx) => {
    while (!gateOpen && ctx.index >= GATE_FROM) await sleep(50, undefined, { signal: ctx.signal });
    await sleep(5);
    if (ctx.index % 10 === 9) throw new NonRetryableItemError(`sku of item ${ctx.index} discontinued`, 'bad-sku');
    return ctx.index;
  }),
);

describe('notifications over HTTP, from batches on the dev server', () => {
  let receiver: Receiver;
  const workers: WorkerProcess[] = [];
  const suite = devServerSuite('waymark-notify-', {
    beforeTeardown: async () => {
      await stopLeftWorkers(workers);
      await receiver?.close();
    },
  });

  function itemsFile(name: string, n: number): string {
    const file = path.join(suite.dir, name);
    fs.writeFileSync(file, Array.from({ length: n }, (_, i) => `item ${i}`).join('\n') + '\n');
    return file;
  }

  const spec = (file: string, over: Partial<BatchSpecInput>) =>
    validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: 'walkaway-items' },
      sliceSize: 10,
      concurrency: 2,
      ...over,
    });

  it('sends a signed Standard Webhooks event that verifies, and Slack text naming the commands, once each', async () => {
    receiver = await startReceiver();
    process.env.WALKAWAY_SECRET = SECRET;
    // Where this worker publishes reports, and the URL they are served under.
    const reports = path.join(suite.dir, 'reports');
    process.env.WAYMARK_REPORT_DIR = reports;
    process.env.WAYMARK_REPORT_URL = 'https://reports.example.com/waymark/';
    const input = spec(itemsFile('signed.txt', 30), {
      notify: {
        targets: [
          { url: receiver.url('/json'), secretEnv: 'WALKAWAY_SECRET' },
          { url: receiver.url('/slack'), format: 'slack' },
        ],
      },
    });
    const worker = await suite.worker('notify-signed');
    await worker.runUntil(async () => {
      await (await startBatch(suite.env.client, input, 'signed-1', 'notify-signed')).result();
      await waitFor('both targets', () => receiver.received('/json').length === 1 && receiver.received('/slack').length === 1);
      await sleep(1000);
    });
    expect(receiver.received('/json')).toHaveLength(1);
    expect(receiver.received('/slack')).toHaveLength(1);

    const [request] = receiver.received('/json');
    const id = request.headers['webhook-id'] as string;
    const timestamp = request.headers['webhook-timestamp'] as string;
    const signature = request.headers['webhook-signature'] as string;
    expect(id).toMatch(/^signed-1\/notify\//);
    // The library's verification, and the scheme computed by hand: HMAC-SHA256 of "id.timestamp.body".
    expect(new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>)).toMatchObject({
      type: 'batch.finished_with_failures',
    });
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest('base64');
    expect(signature).toBe(`v1,${expected}`);

    const [event] = receiver.json('/json');
    expect(event.type).toBe('batch.finished_with_failures');
    expect(Date.parse(event.timestamp)).toBeGreaterThan(0);
    expect(event.data).toMatchObject({
      batchId: 'signed-1',
      total: 30,
      succeeded: 27,
      failed: 3,
      failedByType: { 'bad-sku': 3 },
      redone: 0,
      resumeCostBound: 2,
      commands: { failures: 'waymark failures signed-1', redrive: 'waymark redrive signed-1' },
    });
    expect((event.data.links as { webUi: string }).webUi).toMatch(/\/namespaces\/default\/workflows\/signed-1$/);
    // The finished event links to the report the worker wrote.
    expect(event.data.links).toMatchObject({ report: 'https://reports.example.com/waymark/signed-1-report.html' });
    expect(fs.readFileSync(path.join(reports, 'signed-1-report.html'), 'utf8')).toContain('<td data-field="failed">3</td>');
    delete process.env.WAYMARK_REPORT_DIR;
    delete process.env.WAYMARK_REPORT_URL;

    const slack = JSON.parse(receiver.received('/slack')[0].body) as { text: string };
    expect(Object.keys(slack)).toEqual(['text']);
    expect(slack.text).toContain('waymark batch signed-1 finished with failures: 3 of 30 items failed (bad-sku 3)');
    expect(slack.text).toContain('`waymark failures signed-1`');
    expect(slack.text).toContain('`waymark redrive signed-1`');
    expect(slack.text).toContain('|Web UI>');
    expect(slack.text).toContain('<https://reports.example.com/waymark/signed-1-report.html|report>');
    expect(receiver.received('/slack')[0].headers['webhook-signature']).toBeUndefined();
  });

  it('delivers to a receiver that answers 500 once it recovers, with the same webhook-id; gives up on a 410 and status lists it', async () => {
    await receiver?.close();
    receiver = await startReceiver((p, n) =>
      p === '/gone'
        ? { status: 410, body: 'channel_is_archived' }
        : n === 1
          ? { status: 500, headers: { 'retry-after': '1' } }
          : { status: 200 },
    );
    const input = spec(itemsFile('flaky.txt', 20), {
      notify: { targets: [{ url: receiver.url('/flaky') }, { url: receiver.url('/gone') }] },
    });
    const worker = await suite.worker('notify-flaky');
    await worker.runUntil(async () => {
      await (await startBatch(suite.env.client, input, 'flaky-1', 'notify-flaky')).result();
      await waitFor('the retry after the 500', () => receiver.received('/flaky').length === 2, 30_000);
      // Time for a retry of the 410 (the backoff starts at 5 s), which must not come.
      await sleep(7000);
    });
    const flaky = receiver.received('/flaky');
    expect(flaky).toHaveLength(2);
    expect(flaky[1].headers['webhook-id']).toBe(flaky[0].headers['webhook-id']);
    expect(flaky[1].at - flaky[0].at).toBeGreaterThanOrEqual(900);
    expect(receiver.received('/gone')).toHaveLength(1);
    const given = await undeliveredNotifications(suite.env.client, 'flaky-1');
    expect(given).toHaveLength(1);
    expect(given[0]).toMatch(/to http:\/\/127\.0\.0\.1:\d+\/gone not delivered: the receiver answered 410 channel_is_archived/);
  });

  it('a receiver that hangs does not slow the batch (measured against the same batch without notify)', async () => {
    await receiver?.close();
    receiver = await startReceiver(() => 'hang');
    const file = itemsFile('timed.txt', 200);
    const worker = await suite.worker('notify-hang');
    const timed = async (id: string, over: Partial<BatchSpecInput>) => {
      const t0 = Date.now();
      await (await startBatch(suite.env.client, spec(file, over), id, 'notify-hang')).result();
      return Date.now() - t0;
    };
    const [bare, hanging] = await worker.runUntil(async () => {
      const withoutNotify = await timed('hang-bare', {});
      const withHangingReceiver = await timed('hang-notify', { notify: { targets: [{ url: receiver.url('/hang') }] } });
      await waitFor('the event to reach the hanging receiver', () => receiver.received('/hang').length === 1);
      return [withoutNotify, withHangingReceiver];
    });
    console.log(`200 items: ${bare} ms without notify, ${hanging} ms with a receiver that never answers`);
    expect(hanging).toBeLessThan(bare * 1.5 + 2000);
  });

  it('tells a stall in real time once, then its resume and the end', async () => {
    await receiver?.close();
    receiver = await startReceiver();
    gateOpen = false;
    const input = spec(itemsFile('stall.txt', 40), {
      checkpointEvery: 40,
      notify: { targets: [{ url: receiver.url('/stall') }], stalledMs: 3000 },
    });
    const worker = await suite.worker('notify-stall');
    await worker.runUntil(async () => {
      const handle = await startBatch(suite.env.client, input, 'stall-1', 'notify-stall');
      await waitFor('the stall to be told', () => receiver.received('/stall').length === 1, 30_000);
      await sleep(5000);
      expect(receiver.received('/stall')).toHaveLength(1);
      gateOpen = true;
      await handle.result();
      await waitFor('resumed and finished', () => receiver.received('/stall').length === 3, 30_000);
      await sleep(1000);
    });
    const events = receiver.json('/stall');
    expect(events.map((e) => e.type)).toEqual(['batch.stalled', 'batch.resumed', 'batch.finished_with_failures']);
    expect(events[0].data).toMatchObject({ batchId: 'stall-1', succeeded: 18, failed: 2 });
    expect(events[1].data).toMatchObject({ resumedFrom: 'stalled' });
  });

  it('a worker SIGKILLed while sending loses no event: another worker sends it again, same webhook-id', async () => {
    await receiver?.close();
    receiver = await startReceiver((_p, n) => (n === 1 ? 'hang' : { status: 200 }));
    const env = { TEMPORAL_ADDRESS: suite.env.address, WAYMARK_DATA_DIR: suite.dir, WAYMARK_TASK_QUEUE: 'notify-kill' };
    const input = validateSpecForStart({
      source: { kind: 'text', path: itemsFile('kill.txt', 10) },
      processor: { name: 'sha256' },
      notify: { targets: [{ url: receiver.url('/kill') }] },
    });
    const first = await startWorkerProcess(env);
    workers.push(first);
    const handle = await startBatch(suite.env.client, input, 'kill-1', 'notify-kill');
    await handle.result();
    await waitFor('the first attempt to reach the receiver', () => receiver.received('/kill').length === 1);
    first.kill('SIGKILL');
    await first.exited;
    const second = await startWorkerProcess(env);
    workers.push(second);
    // The dead attempt times out (25 s), then the retry goes to the live worker.
    await waitFor('the retry from the second worker', () => receiver.received('/kill').length === 2, 60_000);
    const [a, b] = receiver.received('/kill');
    expect(b.headers['webhook-id']).toBe(a.headers['webhook-id']);
    expect(JSON.parse(b.body)).toMatchObject({ type: 'batch.finished', data: { batchId: 'kill-1', succeeded: 10 } });
    const notifyId = a.headers['webhook-id'] as string;
    await waitFor(
      'the notify workflow to complete',
      async () => (await suite.env.client.workflow.getHandle(notifyId).describe()).status.name === 'COMPLETED',
    );
  }, 120_000);

  it('status --watch --notify tells that no worker runs the batch, and when one does again', async () => {
    await receiver?.close();
    receiver = await startReceiver();
    const input = spec(itemsFile('unattended.txt', 20), {});
    const handle = await startBatch(suite.env.client, input, 'unattended-1', 'notify-none');
    const watching = runCli(['status', 'unattended-1', '--watch', '--notify', receiver.url('/watch'), '--unattended-after', '2'], {
      env: { TEMPORAL_ADDRESS: suite.env.address, WAYMARK_DATA_DIR: suite.dir },
      cwd: suite.dir,
      timeoutMs: 90_000,
    });
    await waitFor('no-workers to be told', () => receiver.received('/watch').length === 1, 30_000);
    expect(receiver.json('/watch')[0]).toMatchObject({ type: 'batch.no_workers', data: { batchId: 'unattended-1' } });
    const worker = await suite.worker('notify-none');
    await worker.runUntil(async () => {
      await handle.result();
      await waitFor('resumed to be told', () => receiver.received('/watch').length === 2, 30_000);
    });
    expect(receiver.json('/watch')[1]).toMatchObject({ type: 'batch.resumed', data: { resumedFrom: 'no-workers' } });
    const run = await watching;
    // Completed with failed items: exit code 3, as `start --wait` would.
    expect(run.code).toBe(3);
  });
});
