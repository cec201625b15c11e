/**
 * What the local Temporal cluster of `npm run cluster` is made of: the pinned server version, its
 * four services and their ports, the PostgreSQL databases and where everything lives. The server
 * config template (tools/cluster/config/temporal-server.yaml) and temporal-compose.yml describe the
 * same cluster; test/cluster/compose-file.test.ts keeps the three in step.
 */
import path from 'node:path';
import { findPackageRoot } from '../../src/server/install-dir';

/** The Temporal server built from source for the cluster; temporal-compose.yml uses the images of the same version. */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

/** Started in this order: history and matching first, so the frontend finds them when it joins. */
export const SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const DEFAULT_FRONTEND_PORT = 7233;
/** One above scripts/postgres.sh's 55432, so the ledger tests' server and the cluster's can run side by side. */
export const DEFAULT_PG_PORT = 55433;
export const NAMESPACE = 'default';
/** How long a closed batch's history stays on the cluster. */
export const RETENTION_DAYS = 3;

/** The server's persistence, as in the template and temporal-compose.yml. */
export const PERSISTENCE = {
  plugin: 'postgres12',
  temporalDb: 'temporal',
  visibilityDb: 'temporal_visibility',
  historyShards: 4,
} as const;
/** The ledger's database on the cluster's PostgreSQL (WAYMARK_LEDGER_URL). */
export const LEDGER_DB = 'waymark';
/** scripts/postgres.sh makes this superuser; the server and the ledger log in as it. */
export const PG_USER = 'waymark';
export const PG_PASSWORD = 'waymark';

export interface ClusterPorts {
  grpc: Record<ServiceName, number>;
  membership: Record<ServiceName, number>;
  frontendHttp: number;
}

/**
 * Temporal's usual layout, shifted with the frontend port: gRPC 7233 (frontend), 7234 (history),
 * 7235 (matching), 7239 (worker); membership 300 below each; the frontend's HTTP API on 7243.
 */
const GRPC_OFFSETS: Record<ServiceName, number> = { frontend: 0, history: 1, matching: 2, worker: 6 };
const MEMBERSHIP_SHIFT = -300;
const HTTP_OFFSET = 10;
export const MIN_FRONTEND_PORT = 1024 - MEMBERSHIP_SHIFT;
/**
 * On SQL persistence the services find each other through the cluster_membership table, whose
 * port column is a smallint: membership ports above 32767 make a service fail as it starts.
 */
export const MAX_FRONTEND_PORT = 32767 - MEMBERSHIP_SHIFT - GRPC_OFFSETS.worker;

export function clusterPorts(frontendPort: number): ClusterPorts {
  if (!Number.isInteger(frontendPort) || frontendPort < MIN_FRONTEND_PORT || frontendPort > MAX_FRONTEND_PORT) {
    throw new Error(
      `--port must be a whole number from ${MIN_FRONTEND_PORT} to ${MAX_FRONTEND_PORT}, got ${frontendPort}: the other services' ports are placed ` +
        'around it, and Temporal keeps membership ports (300 below) in a smallint column, so they must stay at most 32767',
    );
  }
  const each = (shift: number) =>
    Object.fromEntries(SERVICES.map((s) => [s, frontendPort + shift + GRPC_OFFSETS[s]])) as Record<ServiceName, number>;
  return { grpc: each(0), membership: each(MEMBERSHIP_SHIFT), frontendHttp: frontendPort + HTTP_OFFSET };
}

/** Every port of the cluster with what it is for, for the up-front "port taken" check. */
export function describedPorts(ports: ClusterPorts): { port: number; role: string }[] {
  return [
    ...SERVICES.map((s) => ({ port: ports.grpc[s], role: `${s} gRPC` })),
    ...SERVICES.map((s) => ({ port: ports.membership[s], role: `${s} membership` })),
    { port: ports.frontendHttp, role: 'frontend HTTP' },
  ];
}

export function projectRoot(): string {
  return findPackageRoot(__dirname);
}

/** Where the cluster keeps its state (config, logs, PostgreSQL, the record of its processes). */
export function defaultClusterDir(): string {
  return path.join(projectRoot(), '.waymark', 'cluster');
}

/** The server build: next to the pinned Temporal CLI in the git-ignored `.temporal-bin`, one folder per version. */
export function defaultServerBinDir(): string {
  return process.env.WAYMARK_CLUSTER_BIN_DIR
    ? path.resolve(process.env.WAYMARK_CLUSTER_BIN_DIR)
    : path.join(projectRoot(), '.temporal-bin', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

export const TEMPLATE_FILE = 'tools/cluster/config/temporal-server.yaml';
export const DYNAMIC_CONFIG_FILE = 'tools/cluster/config/dynamicconfig.yaml';
export const POSTGRES_SCRIPT = 'scripts/postgres.sh';

export function ledgerUrl(pgPort: number): string {
  return `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${pgPort}/${LEDGER_DB}`;
}
