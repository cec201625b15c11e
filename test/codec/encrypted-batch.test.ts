/**
 * Payload encryption end to end on the dev server: a batch run by a worker and a client that both
 * have the codec. The server's history, read by a client WITHOUT the codec, holds only
 * ciphertext: no payload carries the spec's source path or processor name, and every payload is
 * the codec's. With the codec the result decodes; with a wrong key it fails saying so. A batch
 * that fails keeps its failure message (which names the source path) encrypted too.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { quietLogger } from '../helpers/fake-activities';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { createWaymarkWorker } from '../../src/workers/create-worker';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { connectClient, localConnectionSettings } from '../../src/connection/connect';
import { ENCODED_FAILURES, waymarkDataConverter } from '../../src/codec/data-converter';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../src/codec/aes-gcm-codec';
import { encryptionKeysFromEnv } from '../../src/codec/encryption-keys';
import { registerProcessor } from '../../src/processors/registry';
import { defineProcessor } from '../../src/processors/processor';
import type { BatchSpec } from '../../src/contract/batch-spec';

/** The fields of core's LocalActivityMarkerData. */
const LOCAL_ACTIVITY_RECORD_FIELDS = [
  'seq',
  'attempt',
  'activity_id',
  'activity_type',
  'complete_time',
  'backoff',
  'original_schedule_time',
];

const TASK_QUEUE = 'encrypted-batch';
const PROCESSOR = 'confidential-enricher';
const SOURCE_NAME = 'classified-accounts.txt';
const KEY_ENV = { WAYMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64'), WAYMARK_ENCRYPTION_KEY_ID: 'test-key-1' };

/** Every Payload in a history, with where it sits, except search attributes (indexed by the server, never encoded). */
function payloadsIn(value: unknown, where = 'history', out: Array<{ where: string; payload: Payload }> = []) {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => payloadsIn(v, `${where}[${i}]`, out));
    return out;
  }
  const record = value as Record<string, unknown>;
  const metadata = record.metadata as Record<string, unknown> | undefined;
  if (metadata && typeof metadata === 'object' && Object.values(metadata).every((v) => ArrayBuffer.isView(v)) && 'encoding' in metadata) {
    out.push({ where, payload: record });
    return out;
  }
  for (const [key, v] of Object.entries(record)) {
    if (key === 'searchAttributes') continue;
    payloadsIn(v, `${where}.${key}`, out);
  }
  return out;
}

describe('a batch with payload encryption', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;
  let dir: string;
  let ledger: SqliteLedger;
  let spec: BatchSpec;
  let client: Client;
  let worker: Worker;
  let running: Promise<void> | undefined;
  const histories: temporal.api.history.v1.IHistory[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      failureConverterPath: ENCODED_FAILURES,
      logger: quietLogger,
    });
    dir = makeTempDir('waymark-codec-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
    registerProcessor(
      PROCESSOR,
      defineProcessor(async (item) => ({ enriched: `${String(item)}!` })),
    );
    const file = path.join(dir, SOURCE_NAME);
    fs.writeFileSync(file, Array.from({ length: 30 }, (_, i) => `account-${i}`).join('\n'));
    spec = validateSpecForStart({
      source: { kind: 'text', path: file },
      processor: { name: PROCESSOR },
      sliceSize: 10,
      checkpointEvery: 20,
      concurrency: 2,
    });

    const dataConverter = waymarkDataConverter(KEY_ENV);
    client = await connectClient(localConnectionSettings(env.address), dataConverter);
    worker = await createWaymarkWorker({
      connection: env.nativeConnection,
      ledger,
      dataDir: dir,
      taskQueue: TASK_QUEUE,
      workflowBundle,
      dataConverter,
    });
    // The worker keeps running for the tests below.
    running = worker.run();
    await (await startBatch(client, spec, 'encrypted-batch', TASK_QUEUE)).result();

    // Every run of the batch (it continues-as-new after 20 items), as a client without the codec sees it.
    let runId: string | undefined = (await env.client.workflow.getHandle('encrypted-batch').describe()).runId;
    while (runId) {
      const history = await env.client.workflow.getHandle('encrypted-batch', runId).fetchHistory();
      histories.push(history);
      runId = history.events![0].workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
  });
  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await client?.connection.close();
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('leaves the server only ciphertext: no payload holds the source path or the processor name', () => {
    expect(histories).toHaveLength(2);
    const payloads = histories.flatMap((h, i) => payloadsIn(h.events, `run${i}`));
    // Start input, activity inputs and results, the run's result, summary and details at least.
    expect(payloads.length).toBeGreaterThan(10);
    // A patch marker's details are written by the SDK's core, not the data converter: they hold
    // the patch id that patched() names, nothing of the batch. Checked as such, then left out.
    const isPatchMarker = ({ where }: { where: string }) => where.includes('.markerRecordedEventAttributes.details.patch-data.');
    for (const { where, payload } of payloads.filter(isPatchMarker)) {
      expect({ where, patch: JSON.parse(Buffer.from(payload.data!).toString()) }).toEqual({
        where,
        patch: { id: expect.stringMatching(/^[a-z][a-z-]*$/), deprecated: false },
      });
    }
    // A local activity marker's `data` is core's record of the call (which activity, which attempt,
    // when), also written by core: it names one of waymark's local activities and holds nothing else.
    const isLocalActivityRecord = ({ where }: { where: string }) => where.includes('.markerRecordedEventAttributes.details.data.');
    for (const { where, payload } of payloads.filter(isLocalActivityRecord)) {
      const record = JSON.parse(Buffer.from(payload.data!).toString()) as Record<string, unknown>;
      expect({ where, activity: record.activity_type }).toEqual({ where, activity: expect.stringMatching(/^(requestSplit|batchTotals)$/) });
      expect(Object.keys(record).filter((k) => !LOCAL_ACTIVITY_RECORD_FIELDS.includes(k))).toEqual([]);
    }
    for (const { where, payload } of payloads.filter((p) => !isPatchMarker(p) && !isLocalActivityRecord(p))) {
      expect({ where, encoding: Buffer.from(payload.metadata!.encoding).toString() }).toEqual({ where, encoding: ENCRYPTED_ENCODING });
      expect({ where, keyId: Buffer.from(payload.metadata![METADATA_KEY_ID]).toString() }).toEqual({ where, keyId: 'test-key-1' });
    }
    // And nowhere in the raw history bytes, payload or not.
    for (const history of histories) {
      const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      expect(bytes.includes(SOURCE_NAME)).toBe(false);
      expect(bytes.includes(dir)).toBe(false);
      expect(bytes.includes(PROCESSOR)).toBe(false);
      expect(bytes.includes('account-')).toBe(false);
    }
  });

  it('decodes with the codec: the start input is the spec and the result is the summary', async () => {
    const started = histories[histories.length - 1].events![0].workflowExecutionStartedEventAttributes!;
    const codec = new AesGcmPayloadCodec(encryptionKeysFromEnv(KEY_ENV)!);
    const [input] = await codec.decode(started.input!.payloads!);
    expect(defaultPayloadConverter.fromPayload(input)).toMatchObject({
      source: { path: spec.source.path },
      processor: { name: PROCESSOR },
    });
    const summary = await client.workflow.getHandle('encrypted-batch').result();
    expect(summary).toMatchObject({ batchId: 'encrypted-batch', total: 30, succeeded: 30, failed: 0, runs: 2 });
  });

  it('fails with a clear error for a client with a wrong key', async () => {
    const wrongKey = { WAYMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64'), WAYMARK_ENCRYPTION_KEY_ID: 'test-key-1' };
    const wrong = await connectClient(localConnectionSettings(env.address), waymarkDataConverter(wrongKey));
    try {
      await expect(wrong.workflow.getHandle('encrypted-batch').result()).rejects.toThrow(
        /key id "test-key-1" does not decrypt with this process's key of that id: the key is wrong/,
      );
      const otherId = await connectClient(
        localConnectionSettings(env.address),
        waymarkDataConverter({ ...wrongKey, WAYMARK_ENCRYPTION_KEY_ID: 'test-key-2' }),
      );
      try {
        await expect(otherId.workflow.getHandle('encrypted-batch').result()).rejects.toThrow(
          /encrypted with key id "test-key-1", which this process does not have/,
        );
      } finally {
        await otherId.connection.close();
      }
    } finally {
      await wrong.connection.close();
    }
  });

  it('keeps failure messages encrypted: a batch whose source vanished fails, naming the path only to a client with the key', async () => {
    const file = path.join(dir, 'vanishing-classified.txt');
    fs.writeFileSync(file, 'x\n');
    const vanishing = validateSpecForStart({ source: { kind: 'text', path: file }, processor: { name: PROCESSOR } });
    fs.rmSync(file);
    const handle = await startBatch(client, vanishing, 'encrypted-failure', TASK_QUEUE);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) messages.push(e.message);
    expect(messages.join(' | ')).toContain(`not found: ${file}`);

    const history = await env.client.workflow.getHandle('encrypted-failure').fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(bytes.includes('vanishing-classified')).toBe(false);
    expect(bytes.includes('Encoded failure')).toBe(true);
  });
});
