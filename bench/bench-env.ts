/**
 * The stage every measurement shares: the embedded Temporal dev server on free ports with a
 * throwaway data dir, one client, one native connection and one workflow bundle, built once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startDevServerInBackground, type BackgroundDevServer } from '../src/server/dev-server';
import { startOnFreePorts } from '../tools/support/free-port';

export interface BenchEnv {
  /** Temp folder for item files, ledgers and the server's SQLite file; removed by close(). */
  dir: string;
  server: BackgroundDevServer;
  client: Client;
  connection: NativeConnection;
  /** batchWorkflow, bundled once for every in-process worker. */
  waymarkBundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/** The SDK's INFO logs (worker state changes) would drown the bench's own output. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export async function startBenchEnv(): Promise<BenchEnv> {
  quietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-bench-'));
  const server = await startOnFreePorts(2, ([port, uiPort]) =>
    startDevServerInBackground({ dataDir: path.join(dir, 'temporal'), port, uiPort }),
  );
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const connection = await NativeConnection.connect({ address: server.address });
  const waymarkBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return {
    dir,
    server,
    client,
    connection,
    waymarkBundle,
    async close() {
      await connection.close().catch(() => undefined);
      await clientConnection.close().catch(() => undefined);
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
