/**
 * What every demo needs before its batch: a Temporal server (the one configured if it answers,
 * else the dev server, started in the background so the Web UI outlives the demo), a ledger in
 * the data dir and an in-process worker, for the demo's batches.
 */
import { connectWorkerConnection, createWaymarkWorker } from '../../src/workers/create-worker';
import { openLedger } from '../../src/ledger/open-ledger';
import { dataDir } from '../../src/settings';
import {
  configuredDataConverter,
  connectClient,
  connectionHint,
  isSecured,
  loadConnectionSettings,
  localConnectionSettings,
  serverAnswers,
} from '../../src/connection/connect';
import { CliError } from '../../src/user-error';
import { installWaymarkRuntime, telemetrySettingsFromEnv } from '../../src/telemetry/runtime';
import { startBatch } from '../../src/cli/start-batch';
import { watchBatch } from '../../src/cli/watch-batch';
import { startDevServerInBackground } from '../../src/server/dev-server';
import type { BatchSpec } from '../../src/contract/batch-spec';
import type { BatchSummary } from '../../src/contract/messages';

export interface DemoRun {
  summary: BatchSummary;
  /** The batch's page in the Web UI. */
  uiPage: string;
}

export interface DemoStage {
  /** Starts the batch, shows its progress bar until it ends and returns its summary. */
  run(spec: BatchSpec, batchId: string, describe: string): Promise<DemoRun>;
}

export async function withDemoStage(demo: (stage: DemoStage) => Promise<void>): Promise<void> {
  // The progress bar is the demo's output; the SDK's INFO lines would tear it apart.
  installWaymarkRuntime(telemetrySettingsFromEnv(process.env, { defaultLogLevel: 'WARN' }));
  const dir = dataDir();
  let settings = loadConnectionSettings();
  let uiUrl = process.env.WAYMARK_UI_URL || 'http://localhost:8233';
  if (await serverAnswers(settings)) {
    console.log(`using the Temporal server at ${settings.address}`);
  } else if (isSecured(settings)) {
    // A configured remote cluster that does not answer is a mistake to report, not a reason to start a local server.
    throw new CliError(connectionHint(settings.address, new Error('no answer'), settings));
  } else {
    console.log(`no Temporal server at ${settings.address}: starting the dev server (state in ${dir})`);
    const server = await startDevServerInBackground({ dataDir: dir, detached: true });
    settings = localConnectionSettings(server.address);
    uiUrl = server.uiUrl;
    console.log(
      `dev server running in the background (pid ${server.pid}, log ${server.logFile}); it keeps your batches and the Web UI after this demo ends: stop it with \`kill ${server.pid}\``,
    );
  }
  const dataConverter = configuredDataConverter();
  const ledger = openLedger(dir);
  const connection = await connectWorkerConnection(settings);
  const client = await connectClient(settings, dataConverter);
  try {
    const worker = await createWaymarkWorker({ connection, namespace: settings.namespace, ledger, dataDir: dir, dataConverter });
    // One worker for every batch of the demo, until its last batch has ended.
    await worker.runUntil(
      demo({
        run: async (spec, batchId, describe) => {
          const handle = await startBatch(client, spec, batchId);
          console.log(`batch ${handle.workflowId}: ${describe}`);
          const summary = await watchBatch(handle);
          return { summary, uiPage: `${uiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(summary.batchId)}` };
        },
      }),
    );
  } finally {
    await client.connection.close();
    await connection.close();
    await ledger.close();
  }
}

/** The lines every demo ends with: where to look next. */
export function printWhereToLook({ summary, uiPage }: DemoRun): void {
  console.log(`manifest:  ${summary.manifestPath}`);
  console.log(`failures:  npx waymark failures ${summary.batchId}`);
  console.log(`export:    npx waymark export ${summary.batchId} --out ./export`);
  console.log(`Web UI:    ${uiPage}`);
}

/** Runs a demo's main and turns any error into one line and exit code 1. */
export function runDemo(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(`waymark demo: ${err instanceof CliError || err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
