/**
 * The record of a running cluster, `<cluster dir>/cluster.json`: what it listens on and the pid
 * of every process it started, so `npm run cluster -- stop` stops exactly those, and a second
 * `npm run cluster` sees that one already runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ServiceName } from './cluster-layout';

export interface ClusterState {
  serverVersion: string;
  /** host:port of the frontend. */
  address: string;
  frontendPort: number;
  pgPort: number;
  /** scripts/postgres.sh's folder for this cluster. */
  pgHome: string;
  postgresPid?: number;
  ledgerUrl: string;
  serverBinary: string;
  configFile: string;
  /** Pid of each service process started. */
  services: Partial<Record<ServiceName, number>>;
  startedAt: string;
}

export const STATE_FILE_NAME = 'cluster.json';

export function stateFile(clusterDir: string): string {
  return path.join(clusterDir, STATE_FILE_NAME);
}

export function readState(clusterDir: string): ClusterState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(stateFile(clusterDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as ClusterState;
  } catch {
    throw new Error(`${stateFile(clusterDir)} is not the JSON the cluster script writes; stop what it started by hand and remove the file`);
  }
}

/** Written whole to a new file and renamed over the old one, so a reader never sees half of it. */
export function writeState(clusterDir: string, state: ClusterState): void {
  const file = stateFile(clusterDir);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(temp, file);
}

export function removeState(clusterDir: string): void {
  fs.rmSync(stateFile(clusterDir), { force: true });
}
