/** What the numbers were measured on: the report's header. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import Database from 'better-sqlite3';
import { requireTemporalCli } from '../src/server/resolve-binaries';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  temporalCli: string;
  temporalSdk: string;
  betterSqlite3: string;
  sqlite: string;
  tempDir: string;
  loadAverage: number[];
}

function packageVersion(name: string): string {
  try {
    // A package's own manifest, named at run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  let temporalCli: string;
  try {
    temporalCli = execFileSync(requireTemporalCli(), ['--version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    temporalCli = `unknown (${(err as Error).message})`;
  }
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    temporalCli,
    temporalSdk: packageVersion('@temporalio/worker'),
    betterSqlite3: packageVersion('better-sqlite3'),
    sqlite,
    tempDir: os.tmpdir(),
    loadAverage: os.loadavg(),
  };
}
