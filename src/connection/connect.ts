/**
 * Where the Temporal server is and how to reach it, for the CLI, the worker and the demo alike.
 *
 * Settings come from Temporal's own environment configuration (@temporalio/envconfig), the same
 * that the Temporal CLI and the other SDKs read: a profile of a TOML config file
 * (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; profile TEMPORAL_PROFILE, else
 * "default"), overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*
 * and TEMPORAL_GRPC_META_* variables. Nothing set means the local dev server.
 */
import { Client, Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile, type ClientConnectConfig } from '@temporalio/envconfig';
import { waymarkDataConverter } from '../codec/data-converter';
import { EncryptionKeyError } from '../codec/encryption-keys';
import { CliError } from '../user-error';

export const DEFAULT_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** false: plaintext (the dev server); true: TLS with the system's roots; an object: mTLS and friends. */
  tls: TLSConfig | boolean;
  apiKey?: string;
  /** gRPC headers sent with every call (TEMPORAL_GRPC_META_* or a profile's grpc_meta). */
  metadata?: NativeConnectionOptions['metadata'];
  /** The config file profile the settings came from, when one was named; for messages. */
  profile?: string;
}

/** Reads the connection settings; a mistake in them is a CliError that names the variable or file. */
export function loadConnectionSettings(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const vars = envconfigVars(env);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars, configFileStrict: false });
  } catch (err) {
    throw new CliError(
      `cannot read the Temporal connection profile: ${firstLine(err)} (config file: ${configFileName(vars)}${vars.TEMPORAL_PROFILE ? `, TEMPORAL_PROFILE=${vars.TEMPORAL_PROFILE}` : ''})`,
    );
  }
  const tlsSource = profile.tls;
  if (tlsSource && !tlsSource.disabled && Boolean(tlsSource.clientCert) !== Boolean(tlsSource.clientKey)) {
    const missing = tlsSource.clientCert
      ? 'key (TEMPORAL_TLS_CLIENT_KEY_PATH or client_key_path)'
      : 'certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or client_cert_path)';
    throw new CliError(`mTLS needs a client certificate and its key together: the client ${missing} is missing`);
  }
  let connect: ClientConnectConfig;
  try {
    connect = toClientOptions(profile);
  } catch (err) {
    throw new CliError(`cannot read a TLS file named in the Temporal connection settings: ${firstLine(err)}`);
  }
  const { address, apiKey, tls, metadata } = connect.connectionOptions;
  return {
    address: address || DEFAULT_ADDRESS,
    namespace: connect.namespace || DEFAULT_NAMESPACE,
    tls: tls ?? false,
    ...(apiKey ? { apiKey } : {}),
    ...(metadata && Object.keys(metadata).length ? { metadata: { ...metadata } } : {}),
    ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
  };
}

/** A local plaintext server at `address`, such as the dev server the demo starts. */
export function localConnectionSettings(address: string, namespace = DEFAULT_NAMESPACE): TemporalConnectionSettings {
  return { address, namespace, tls: false };
}

/** Options for @temporalio/client's Connection (the CLI, the demo's client). */
export function clientConnectionOptions(settings: TemporalConnectionSettings): ConnectionOptions {
  return {
    address: settings.address,
    tls: settings.tls,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.metadata ? { metadata: settings.metadata } : {}),
    connectTimeout: 5000,
  };
}

/** Options for the worker's NativeConnection. */
export function workerConnectionOptions(settings: TemporalConnectionSettings): NativeConnectionOptions {
  return {
    address: settings.address,
    tls: settings.tls,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.metadata ? { metadata: settings.metadata } : {}),
  };
}

/** True when the server is remote or secured: a local dev server is plaintext without a key. */
export function isSecured(settings: TemporalConnectionSettings): boolean {
  return settings.tls !== false || settings.apiKey !== undefined;
}

/** One line that says why no server answered and what to do about it. */
export function connectionHint(address: string, err: unknown, settings?: TemporalConnectionSettings): string {
  const why = firstLine(err);
  if (settings && isSecured(settings)) {
    const via = settings.profile ? `profile "${settings.profile}"` : 'the TEMPORAL_* variables';
    return `no Temporal server reachable at ${address} (${why}); check the address, namespace, API key and TLS settings from ${via}`;
  }
  return `no Temporal server reachable at ${address} (${why}); start one with \`npx waymark dev\` or set TEMPORAL_ADDRESS to a running server`;
}

/** The data converter of clients and workers alike: the payload codec when a key is set. */
export function configuredDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  try {
    return waymarkDataConverter(env);
  } catch (err) {
    if (err instanceof EncryptionKeyError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * A client of the configured server, proven to answer, with payload encryption when a key is
 * set. A bare address means a local plaintext server there (a dev server this process started).
 */
export async function connectClient(
  target: TemporalConnectionSettings | string = loadConnectionSettings(),
  dataConverter: DataConverter | undefined = configuredDataConverter(),
): Promise<Client> {
  const settings = typeof target === 'string' ? localConnectionSettings(target) : target;
  let connection: Connection;
  try {
    connection = await Connection.connect(clientConnectionOptions(settings));
    // connect() can succeed lazily; one cheap call proves a server answers.
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    throw new CliError(connectionHint(settings.address, err, settings));
  }
  return new Client({ connection, namespace: settings.namespace, ...(dataConverter ? { dataConverter } : {}) });
}

/** Whether a Temporal frontend answers with these settings (TLS and API key included). */
export async function serverAnswers(settings: TemporalConnectionSettings, timeoutMs = 2000): Promise<boolean> {
  const connection = Connection.lazy({ ...clientConnectionOptions(settings), connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/**
 * The environment as envconfig takes it: an empty variable counts as unset (as it always has for
 * waymark), except TEMPORAL_GRPC_META_*, where empty removes a header a profile set.
 */
function envconfigVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value === '' && !key.startsWith('TEMPORAL_GRPC_META_')) continue;
    vars[key] = value;
  }
  return vars;
}

function configFileName(vars: Record<string, string>): string {
  return vars.TEMPORAL_CONFIG_FILE ?? 'the default temporal.toml (~/.config/temporalio/temporal.toml)';
}

function firstLine(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

/**
 * Environment for a child process that must talk to a local server this process started, not
 * to whatever a developer's Temporal profile points at (a Cloud API key must not leak into it).
 */
export const LOCAL_ONLY_TEMPORAL_ENV: Readonly<Record<string, string>> = {
  TEMPORAL_CONFIG_FILE: '/nonexistent/waymark-local-only.toml',
  TEMPORAL_PROFILE: '',
  TEMPORAL_API_KEY: '',
};
