/**
 * Creates and migrates the cluster's databases with temporal-sql-tool, the way Temporal's own
 * setup does (`create-database`, `setup-schema -v 0.0`, `update-schema -d <versioned dir>`), and
 * creates the ledger's database. Each step leaves a database that has it alone, so this runs on
 * every start: an existing cluster keeps its data and is migrated when the pinned server moves on.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { LEDGER_DB, PERSISTENCE, PG_PASSWORD, PG_USER } from './cluster-layout';
import type { ServerBinaries } from './server-binaries';

export async function prepareDatabases(binaries: ServerBinaries, pgPort: number, log: (line: string) => void): Promise<void> {
  const sql = (db: string, ...args: string[]) => runSqlTool(binaries.sqlTool, ['--db', db, ...args], pgPort);
  for (const [db, schema] of [
    [PERSISTENCE.temporalDb, 'temporal'],
    [PERSISTENCE.visibilityDb, 'visibility'],
  ] as const) {
    log(`creating (if new) and migrating database ${db} with temporal-sql-tool`);
    await sql(db, 'create-database');
    await sql(db, 'setup-schema', '-v', '0.0');
    await sql(db, 'update-schema', '-d', path.join(binaries.schemaDir, schema, 'versioned'));
  }
  // The ledger migrates its own schema on first use.
  await sql(LEDGER_DB, 'create-database');
}

function runSqlTool(tool: string, args: string[], pgPort: number): Promise<void> {
  // Connection settings through the tool's own variables, so no password is on a command line.
  const env = {
    ...process.env,
    SQL_PLUGIN: PERSISTENCE.plugin,
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(pgPort),
    SQL_USER: PG_USER,
    SQL_PASSWORD: PG_PASSWORD,
  };
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n');
      reject(
        new Error(`temporal-sql-tool ${args.join(' ')} failed (PostgreSQL 127.0.0.1:${pgPort}): ${err.message.split('\n')[0]}\n${output}`),
      );
    });
  });
}
