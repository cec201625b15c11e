/**
 * `npm run demo`: the main job on the embedded default. Pronounces every word of the
 * `word-list` package (274,000 English words, a data set nobody in this project wrote) with
 * the CMU Pronouncing Dictionary, on a Temporal dev server with a SQLite file and a SQLite ledger.
 * Words the dictionary cannot pronounce land in the compensating record.
 */
import { connectWorkerConnection, createWaymarkWorker } from '../../src/workers/create-worker';
import { openLedger } from '../../src/ledger/open-ledger';
import { dataDir } from '../../src/settings';
import { registerProcessor } from '../../src/processors/registry';
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
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { watchBatch } from '../../src/cli/watch-batch';
import { startDevServerInBackground } from '../../src/server/dev-server';
import { pronounce } from './pronounce';

// word-list ships no type declarations; it exports the path of its word file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WORDS_FILE = (require('word-list') as { default: string }).default;

async function main(): Promise<void> {
  // The progress bar is the demo's output; the SDK's INFO lines would tear it apart.
  installWaymarkRuntime(telemetrySettingsFromEnv(process.env, { defaultLogLevel: 'WARN' }));
  registerProcessor('pronounce', pronounce);
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

  const spec = validateSpecForStart({
    source: { kind: 'text', path: WORDS_FILE },
    processor: { name: 'pronounce' },
  });
  const ledger = openLedger(dir);
  const connection = await connectWorkerConnection(settings);
  const client = await connectClient(settings, dataConverter);
  try {
    const worker = await createWaymarkWorker({ connection, namespace: settings.namespace, ledger, dataDir: dir, dataConverter });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatch(client, spec, `demo-words-${Date.now()}`);
      console.log(`batch ${handle.workflowId}: ${WORDS_FILE}`);
      return watchBatch(handle);
    });
    console.log('');
    console.log(`done: ${summary.total} words, ${summary.succeeded} pronounced, ${summary.failed} in the compensating record`);
    console.log(
      `      ${summary.itemsPerSecond} items/s over ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.runs} workflow runs, redone ${summary.redone} (bound ${summary.resumeCostBound} per interruption)`,
    );
    console.log(`manifest:  ${summary.manifestPath}`);
    console.log(`failures:  npx waymark failures ${summary.batchId}`);
    console.log(`export:    npx waymark export ${summary.batchId} --out ./export`);
    console.log(`Web UI:    ${uiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(summary.batchId)}`);
  } finally {
    await client.connection.close();
    await connection.close();
    await ledger.close();
  }
}

main().catch((err: unknown) => {
  console.error(`waymark demo: ${err instanceof CliError || err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
