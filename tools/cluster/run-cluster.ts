/**
 * `npm run cluster`: a real Temporal cluster on this machine (see local-cluster.ts).
 *
 *   npm run cluster [-- start] [--dir D] [--port 7233] [--pg-port 55433]
 *   npm run cluster -- stop [--dir D]
 *   npm run cluster -- status [--dir D]
 *   npm run cluster -- build        only build the pinned server (CI does this before the tests)
 *
 * Progress goes to stderr; what to export to use the cluster goes to stdout.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  DEFAULT_FRONTEND_PORT,
  DEFAULT_PG_PORT,
  MAX_FRONTEND_PORT,
  MIN_FRONTEND_PORT,
  SERVICES,
  TEMPORAL_SERVER_VERSION,
  defaultClusterDir,
  defaultServerBinDir,
} from './cluster-layout';
import { LocalCluster, stopCluster } from './local-cluster';
import { buildServerBinaries } from './server-binaries';

const log = (line: string) => console.error(`cluster: ${line}`);

function port(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} takes a port from ${min} to ${max}, got "${raw}"`);
    return n;
  };
}

function relative(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}

function usage(cluster: LocalCluster): string {
  return [
    'Use it from this shell:',
    `  export TEMPORAL_ADDRESS=${cluster.address}`,
    `  export WAYMARK_LEDGER_URL=${cluster.ledgerUrl}`,
    `Stop it: npm run cluster -- stop${cluster.dir === defaultClusterDir() ? '' : ` --dir ${relative(cluster.dir)}`}`,
  ].join('\n');
}

function describeProcesses(cluster: LocalCluster): string {
  return cluster
    .processes()
    .map((p) => `${p.name} ${p.pid === undefined ? '(not started)' : `pid ${p.pid}${p.running ? '' : ' (not running)'}`}`)
    .join(', ');
}

function buildProgram(): Command {
  const program = new Command('cluster').description(
    `a local Temporal ${TEMPORAL_SERVER_VERSION} cluster: PostgreSQL and the four services as separate processes`,
  );
  const dirOption = ['--dir <dir>', 'where config, logs, PostgreSQL and the record of processes go', defaultClusterDir()] as const;

  program
    .command('start', { isDefault: true })
    .description('build the pinned server if needed, start PostgreSQL and the four services, create the namespace and search attributes')
    .option(...dirOption)
    .option(
      '--port <port>',
      'the frontend gRPC port; the other services take ports around it',
      port('--port', MIN_FRONTEND_PORT, MAX_FRONTEND_PORT),
      DEFAULT_FRONTEND_PORT,
    )
    .option('--pg-port <port>', "PostgreSQL's port", port('--pg-port', 1024, 65535), DEFAULT_PG_PORT)
    .action(async (opts: { dir: string; port: number; pgPort: number }) => {
      const { cluster, alreadyRunning } = await LocalCluster.start({ dir: opts.dir, port: opts.port, pgPort: opts.pgPort, log });
      if (alreadyRunning) {
        console.log(
          `waymark cluster: already running from ${relative(cluster.dir)} (frontend ${cluster.address}; ${describeProcesses(cluster)}); nothing started.`,
        );
      } else {
        console.log(
          `waymark cluster: Temporal server ${TEMPORAL_SERVER_VERSION} on ${cluster.address} as ${SERVICES.length} processes (${SERVICES.join(', ')}), ` +
            `PostgreSQL on 127.0.0.1:${cluster.record.pgPort}; state, config and logs in ${relative(cluster.dir)}`,
        );
      }
      console.log(usage(cluster));
    });

  program
    .command('stop')
    .description('stop every process the cluster started, by the pids it recorded')
    .option(...dirOption)
    .action(async (opts: { dir: string }) => {
      const stopped = await stopCluster(opts.dir);
      if (stopped === undefined) console.log(`waymark cluster: none recorded in ${relative(path.resolve(opts.dir))}; nothing to stop.`);
      else console.log(`waymark cluster: stopped ${stopped.length ? stopped.join(', ') : 'nothing (no recorded process was running)'}.`);
    });

  program
    .command('status')
    .description('say whether the cluster runs, with its processes; exit 3 when it does not')
    .option(...dirOption)
    .action((opts: { dir: string }) => {
      const cluster = LocalCluster.attach(opts.dir);
      if (!cluster) {
        console.log(`waymark cluster: not running (${relative(path.resolve(opts.dir))})`);
        process.exitCode = 3;
        return;
      }
      console.log(`waymark cluster: running on ${cluster.address}; ${describeProcesses(cluster)}`);
      console.log(usage(cluster));
    });

  program
    .command('build')
    .description(
      `build Temporal server ${TEMPORAL_SERVER_VERSION} and temporal-sql-tool into ${relative(defaultServerBinDir())} unless already there`,
    )
    .action(async () => {
      const binaries = await buildServerBinaries(defaultServerBinDir(), log);
      console.log(`waymark cluster: Temporal server ${TEMPORAL_SERVER_VERSION} is in ${relative(binaries.dir)}`);
    });
  return program;
}

buildProgram()
  .parseAsync()
  .catch((err: unknown) => {
    console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
