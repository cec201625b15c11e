/** `waymark worker`: runs one worker process until SIGINT/SIGTERM. */
import { describeLedger, openLedger } from '../ledger/open-ledger';
import { dataDir } from '../settings';
import { loadConfiguredProcessors } from '../processors/configured';
import { connectWorkerConnection, createWaymarkWorker } from './create-worker';
import { configuredDataConverter, loadConnectionSettings } from '../connection/connect';
import { holdStopSignals, surviveClosedOutput } from './stop-signals';
import { watchLedgerAtStart } from './ledger-watch';
import { installWaymarkRuntime, telemetrySettingsFromEnv, type TelemetryOverrides } from '../telemetry/runtime';

export interface RunWorkerOptions {
  /** `--metrics-port`; WAYMARK_METRICS_PORT otherwise. */
  metricsPort?: TelemetryOverrides['metricsPort'];
}

export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  // Everything that can be wrong in the environment is refused before anything starts.
  const telemetry = telemetrySettingsFromEnv(process.env, { metricsPort: options.metricsPort });
  const settings = loadConnectionSettings();
  const dataConverter = configuredDataConverter();
  loadConfiguredProcessors();
  surviveClosedOutput();
  const runtime = installWaymarkRuntime(telemetry);
  const say = (line: string) => {
    if (telemetry.logFormat === 'json') runtime.logger.info(line);
    else console.error(line);
  };
  const releaseSignals = holdStopSignals(say);
  const dir = dataDir();
  const ledger = openLedger(dir);
  try {
    const connection = await connectWorkerConnection(settings);
    try {
      const worker = await createWaymarkWorker({ connection, namespace: settings.namespace, ledger, dataDir: dir, dataConverter });
      const ready = {
        taskQueue: worker.options.taskQueue,
        address: settings.address,
        namespace: settings.namespace,
        ledger: dir,
        ...(telemetry.metricsBindAddress ? { metrics: `http://${telemetry.metricsBindAddress}/metrics` } : {}),
        encryption: dataConverter ? 'on' : 'off',
      };
      const line =
        `waymark worker: task queue ${ready.taskQueue} on ${ready.address} (namespace ${ready.namespace}), ${describeLedger(dir)}` +
        (ready.metrics ? `, metrics at ${ready.metrics}` : '') +
        (dataConverter ? ', payload encryption on' : '');
      // The ready line is what scripts and tests wait for; in JSON mode it is a log record like any other.
      if (telemetry.logFormat === 'json') runtime.logger.info(line, ready);
      else console.error(line);
      const stopWatching = watchLedgerAtStart(ledger, describeLedger(dir), say);
      try {
        await worker.run();
      } finally {
        stopWatching();
      }
    } finally {
      await connection.close();
    }
  } finally {
    await ledger.close();
    releaseSignals();
  }
}
