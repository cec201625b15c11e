/**
 * temporal-compose.yml, checked without a Docker engine: valid against the Compose
 * Specification's JSON schema (as shipped by the dclint package), `docker compose config` where
 * the Compose plugin exists, and describing the same cluster as `npm run cluster`'s config
 * template (tools/cluster/config/temporal-server.yaml): server version, persistence, dynamic config,
 * namespace and search attributes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { TypedSearchAttributes } from '@temporalio/common';
import { parse } from 'yaml';
import {
  DYNAMIC_CONFIG_FILE,
  LEDGER_DB,
  NAMESPACE,
  PERSISTENCE,
  TEMPLATE_FILE,
  TEMPORAL_SERVER_VERSION,
  clusterPorts,
} from '../../tools/cluster/cluster-layout';
import { renderTemplate, templateValues } from '../../tools/cluster/server-config';
import { WAYMARK_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'temporal-compose.yml');

interface ComposeService {
  image?: string;
  build?: unknown;
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string>;
  volumes?: string[];
  entrypoint?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(fs.readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
/** The template as `npm run cluster` writes it, with the default ports. */
const template = parse(renderTemplate(fs.readFileSync(path.join(ROOT, TEMPLATE_FILE), 'utf8'), templateValues(clusterPorts(7233), 55433)));
const env = (service: string): Record<string, string> => compose.services[service]?.environment ?? {};
const sql = (store: 'postgres-default' | 'postgres-visibility') => template.persistence.datastores[store].sql;

/** host path -> container path of a service's bind mounts. */
function bindMounts(service: string): Map<string, string> {
  return new Map(
    (compose.services[service].volumes ?? [])
      .map((v) => v.split(':'))
      .filter(([host]) => host.startsWith('./'))
      .map(([host, container]) => [path.normalize(host), container]),
  );
}

describe('temporal-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schemaFile = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
    const { $schema: _metaSchema, ...schema } = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
    // Formats (durations, ports) are the schema's hints for Compose itself; the structure is what is checked here.
    const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  // Compose itself, where it is installed: the `docker compose` plugin or a standalone docker-compose v2.
  const composeCommand = [['docker', 'compose'], ['docker-compose']].find(
    ([cmd, ...sub]) => spawnSync(cmd, [...sub, 'version'], { encoding: 'utf8' }).status === 0,
  );
  (composeCommand ? it : it.skip)('passes `docker compose config` (where Compose is installed)', () => {
    const [cmd, ...sub] = composeCommand!;
    const run = spawnSync(cmd, [...sub, '-f', COMPOSE_FILE, 'config', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs the pinned server version, the admin tools of the same version, and the Web UI', () => {
    expect(compose.services.temporal.image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    expect(compose.services['temporal-schema'].image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    expect(compose.services['temporal-setup'].image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    expect(compose.services['temporal-ui'].image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
  });

  it('has the persistence of the cluster template: PostgreSQL, the same databases, shards and pools, SQL visibility', () => {
    expect(template.persistence.numHistoryShards).toBe(PERSISTENCE.historyShards);
    expect(sql('postgres-default')).toMatchObject({ pluginName: PERSISTENCE.plugin, databaseName: PERSISTENCE.temporalDb });
    expect(sql('postgres-visibility')).toMatchObject({ pluginName: PERSISTENCE.plugin, databaseName: PERSISTENCE.visibilityDb });

    const server = env('temporal');
    expect(server).toMatchObject({
      DB: sql('postgres-default').pluginName,
      DBNAME: sql('postgres-default').databaseName,
      VISIBILITY_DBNAME: sql('postgres-visibility').databaseName,
      NUM_HISTORY_SHARDS: String(template.persistence.numHistoryShards),
      SQL_MAX_CONNS: String(sql('postgres-default').maxConns),
      SQL_MAX_IDLE_CONNS: String(sql('postgres-default').maxIdleConns),
      SQL_MAX_CONN_TIME: sql('postgres-default').maxConnLifetime,
      SQL_VIS_MAX_CONNS: String(sql('postgres-visibility').maxConns),
      SQL_VIS_MAX_IDLE_CONNS: String(sql('postgres-visibility').maxIdleConns),
      SQL_VIS_MAX_CONN_TIME: sql('postgres-visibility').maxConnLifetime,
    });
    // The image's template has no Elasticsearch unless asked: visibility stays in SQL.
    expect(server.ENABLE_ES).toBeUndefined();

    // The schema job migrates the same databases with the same plugin, and creates the ledger's.
    expect(env('temporal-schema')).toMatchObject({
      SQL_PLUGIN: PERSISTENCE.plugin,
      SQL_HOST: server.POSTGRES_SEEDS,
      SQL_PORT: server.DB_PORT,
      SQL_USER: server.POSTGRES_USER,
      SQL_PASSWORD: server.POSTGRES_PWD,
      DBNAME: PERSISTENCE.temporalDb,
      VISIBILITY_DBNAME: PERSISTENCE.visibilityDb,
      LEDGER_DBNAME: LEDGER_DB,
    });
  });

  it('loads the dynamic config file of the cluster template', () => {
    expect(template.dynamicConfigClient.filepath).toBe(path.join(ROOT, DYNAMIC_CONFIG_FILE));
    const mounted = bindMounts('temporal').get(path.normalize(`./${DYNAMIC_CONFIG_FILE}`));
    expect(mounted).toBe(env('temporal').DYNAMIC_CONFIG_FILE_PATH);
  });

  it("creates the cluster's namespace and registers waymark's search attributes with their types", () => {
    const setup = env('temporal-setup');
    expect(setup.NAMESPACE).toBe(NAMESPACE);
    const registered = setup.WAYMARK_SEARCH_ATTRIBUTES.split(/\s+/).map((pair) => pair.split('='));
    expect(registered).toEqual(WAYMARK_SEARCH_ATTRIBUTES.map((key) => [key.name, TypedSearchAttributes.toMetadataType(key.type)]));
  });

  it('mounts setup scripts that exist, in the order the services need them', () => {
    for (const service of ['temporal-schema', 'temporal-setup']) {
      for (const [host, container] of bindMounts(service)) {
        expect(fs.existsSync(path.join(ROOT, host))).toBe(true);
        expect(compose.services[service].entrypoint).toEqual(['/bin/sh', container]);
      }
    }
    expect(compose.services['temporal-schema'].depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(compose.services.temporal.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(compose.services['temporal-setup'].depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
  });

  it('has workers that scale (`--scale worker=3`) and share the PostgreSQL ledger', () => {
    const worker = compose.services.worker;
    expect(worker.build).toBe('.');
    expect(fs.existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    // A fixed container name or host port would make a second replica fail to start.
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.depends_on).toEqual({ 'temporal-setup': { condition: 'service_completed_successfully' } });
    const server = env('temporal');
    const ledger = new URL(env('worker').WAYMARK_LEDGER_URL);
    expect(ledger).toMatchObject({
      protocol: 'postgres:',
      hostname: server.POSTGRES_SEEDS,
      port: server.DB_PORT,
      username: server.POSTGRES_USER,
      password: server.POSTGRES_PWD,
      pathname: `/${LEDGER_DB}`,
    });
    expect(env('worker').TEMPORAL_ADDRESS).toBe(env('temporal-setup').TEMPORAL_ADDRESS);
  });
});
