/**
 * The connection settings end to end: a CLI client and a worker connection made from a TOML
 * profile reach the dev server in the profile's namespace, and a batch runs there.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { connectClient, loadConnectionSettings } from '../../src/connection/connect';
import { CliError } from '../../src/user-error';
import { connectWorkerConnection, createWaymarkWorker } from '../../src/workers/create-worker';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';

const NAMESPACE = 'waymark-profile-ns';

describe('a profile from the Temporal config file', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let ledger: SqliteLedger;
  let client: Client | undefined;
  let connection: NativeConnection | undefined;

  beforeAll(async () => {
    env = await createDevServerEnv({ server: { namespace: NAMESPACE } });
    dir = makeTempDir('waymark-profile-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it('connects the client and the worker to its address and namespace, and a batch runs there', async () => {
    const configFile = path.join(dir, 'temporal.toml');
    fs.writeFileSync(configFile, `[profile.batch]\naddress = "${env.address}"\nnamespace = "${NAMESPACE}"\n`);
    const settings = loadConnectionSettings({ HOME: dir, TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'batch' });
    client = await connectClient(settings, undefined);
    connection = await connectWorkerConnection(settings);
    expect(client.options.namespace).toBe(NAMESPACE);

    const file = path.join(dir, 'items.txt');
    fs.writeFileSync(file, 'a\nb\nc\n');
    const spec = validateSpecForStart({ source: { kind: 'text', path: file }, processor: { name: 'sha256' } });
    const worker = await createWaymarkWorker({ connection, namespace: settings.namespace, ledger, dataDir: dir, taskQueue: 'profile' });
    const summary = await worker.runUntil(async () => (await startBatch(client!, spec, 'profile-batch', 'profile')).result());
    expect(summary).toMatchObject({ total: 3, succeeded: 3 });
    const described = await client.workflow.getHandle('profile-batch').describe();
    expect(described.raw.workflowExecutionInfo?.execution?.workflowId).toBe('profile-batch');
  });

  it('reports an unreachable secured server with a hint at the credentials, not at the dev server', async () => {
    const settings = loadConnectionSettings({ HOME: dir, TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_API_KEY: 'secret' });
    const failed = connectClient(settings, undefined);
    await expect(failed).rejects.toThrow(CliError);
    await expect(failed).rejects.toThrow(
      /^no Temporal server reachable at 127\.0\.0\.1:1 \(.+\); check the address, namespace, API key and TLS settings from the TEMPORAL_\* variables$/,
    );
  });
});
