/** `waymark worker`: runs one worker process until SIGINT/SIGTERM. */
import { NativeConnection } from '@temporalio/worker';
import { openLedger } from '../ledger/open-ledger';
import { dataDir, temporalAddress, temporalNamespace } from '../settings';
import { loadConfiguredProcessors } from '../processors/configured';
import { createWaymarkWorker } from './create-worker';
import { CliError, connectionHint } from '../client/connect';

export async function runWorker(): Promise<void> {
  loadConfiguredProcessors();
  const dir = dataDir();
  const ledger = openLedger(dir);
  const address = temporalAddress();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (err) {
    throw new CliError(connectionHint(address, err));
  }
  try {
    const worker = await createWaymarkWorker({ connection, namespace: temporalNamespace(), ledger, dataDir: dir });
    console.error(`waymark worker: task queue ${worker.options.taskQueue} on ${address}, ledger in ${dir}`);
    await worker.run();
  } finally {
    await connection.close();
    await ledger.close();
  }
}
