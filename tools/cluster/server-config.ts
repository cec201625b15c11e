/**
 * The server config of the local cluster: tools/cluster/config/temporal-server.yaml with each
 * `${NAME}` filled in, written into the cluster's folder for the four service processes to read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DYNAMIC_CONFIG_FILE, PG_PASSWORD, PG_USER, TEMPLATE_FILE, projectRoot, type ClusterPorts } from './cluster-layout';

const PLACEHOLDER = /\$\{([A-Z_]+)\}/g;

/** Fills in every placeholder; one without a value is a mistake in the template or here, never left in. */
export function renderTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in values)) throw new Error(`${TEMPLATE_FILE} uses \${${name}}, which the cluster script does not fill in`);
    return String(values[name]);
  });
}

export function templateValues(ports: ClusterPorts, pgPort: number): Record<string, string | number> {
  return {
    PG_PORT: pgPort,
    PG_USER,
    PG_PASSWORD,
    FRONTEND_PORT: ports.grpc.frontend,
    FRONTEND_HTTP_PORT: ports.frontendHttp,
    FRONTEND_MEMBERSHIP_PORT: ports.membership.frontend,
    HISTORY_PORT: ports.grpc.history,
    HISTORY_MEMBERSHIP_PORT: ports.membership.history,
    MATCHING_PORT: ports.grpc.matching,
    MATCHING_MEMBERSHIP_PORT: ports.membership.matching,
    WORKER_PORT: ports.grpc.worker,
    WORKER_MEMBERSHIP_PORT: ports.membership.worker,
    DYNAMIC_CONFIG_FILE: path.join(projectRoot(), DYNAMIC_CONFIG_FILE),
  };
}

/** Renders the template for these ports into `file`, which the service processes are started with. */
export function writeServerConfig(file: string, ports: ClusterPorts, pgPort: number): void {
  const template = fs.readFileSync(path.join(projectRoot(), TEMPLATE_FILE), 'utf8');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderTemplate(template, templateValues(ports, pgPort)));
}
