/** Settings shared by the CLI, the worker and the demo, read from the environment once. */
import path from 'node:path';
import { loadConnectionSettings } from './connection/connect';

export const DEFAULT_TASK_QUEUE = 'waymark';
/** The task queue every waymark worker polls; `temporal workflow start` must name it too. */
export const TASK_QUEUE = process.env.WAYMARK_TASK_QUEUE || DEFAULT_TASK_QUEUE;

/** Where the embedded default keeps its state: the dev server's SQLite file, the ledger, manifests. */
export function dataDir(): string {
  return path.resolve(process.env.WAYMARK_DATA_DIR || '.waymark');
}

export function ledgerFile(dir = dataDir()): string {
  return path.join(dir, 'ledger.sqlite');
}

export function manifestFile(batchId: string, dir = dataDir()): string {
  return path.join(dir, 'manifests', `${encodeURIComponent(batchId)}.json`);
}

/** The server every command talks to, from Temporal's environment configuration (profiles, TEMPORAL_* variables). */
export function temporalAddress(): string {
  return loadConnectionSettings().address;
}

export function temporalNamespace(): string {
  return loadConnectionSettings().namespace;
}
