/**
 * Connection settings through Temporal's environment configuration: a TOML profile, the
 * TEMPORAL_* variables over it, and API key, TLS and headers passed through to the options of
 * both the client's Connection and the worker's NativeConnection. No server: the produced
 * options objects are what these tests look at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { clientConnectionOptions, connectionHint, loadConnectionSettings, workerConnectionOptions } from '../../src/connection/connect';
import { CliError } from '../../src/user-error';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

let dir: string;
let configFile: string;

/** An environment that sees only the given variables: no user's ~/.config/temporalio. */
function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...vars };
}

beforeEach(() => {
  dir = makeTempDir('waymark-connect-');
  configFile = path.join(dir, 'temporal.toml');
  fs.writeFileSync(path.join(dir, 'client.pem'), 'CLIENT CERT');
  fs.writeFileSync(path.join(dir, 'client.key'), 'CLIENT KEY');
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'SERVER CA');
  fs.writeFileSync(
    configFile,
    [
      '[profile.default]',
      'address = "temporal.internal:7233"',
      'namespace = "batch-jobs"',
      '',
      '[profile.cloud]',
      'address = "waymark.a1b2c.tmprl.cloud:7233"',
      'namespace = "waymark.a1b2c"',
      'api_key = "key-from-profile"',
      '',
      '[profile.mtls]',
      'address = "mtls.example:7233"',
      'namespace = "mtls-ns"',
      '[profile.mtls.tls]',
      `client_cert_path = "${path.join(dir, 'client.pem')}"`,
      `client_key_path = "${path.join(dir, 'client.key')}"`,
      `server_ca_cert_path = "${path.join(dir, 'ca.pem')}"`,
      'server_name = "frontend.mtls.example"',
      '[profile.mtls.grpc_meta]',
      'x-team = "data"',
      '',
    ].join('\n'),
  );
});
afterEach(removeTempDirs);

describe('connection settings', () => {
  it('default to the local dev server, plaintext, namespace default, when nothing is configured', () => {
    const settings = loadConnectionSettings(envWith({}));
    expect(settings).toEqual({ address: 'localhost:7233', namespace: 'default', tls: false });
    expect(clientConnectionOptions(settings)).toEqual({ address: 'localhost:7233', tls: false, connectTimeout: 5000 });
    expect(workerConnectionOptions(settings)).toEqual({ address: 'localhost:7233', tls: false });
  });

  it('treat an empty TEMPORAL_ADDRESS or TEMPORAL_NAMESPACE as unset', () => {
    expect(loadConnectionSettings(envWith({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' }))).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
    });
  });

  it('pick up address and namespace from the default profile of the config file', () => {
    const settings = loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile }));
    expect(settings).toEqual({ address: 'temporal.internal:7233', namespace: 'batch-jobs', tls: false });
  });

  it('find the config file in its default place, ~/.config/temporalio/temporal.toml', () => {
    const xdg = path.join(dir, 'xdg', 'temporalio');
    fs.mkdirSync(xdg, { recursive: true });
    fs.copyFileSync(configFile, path.join(xdg, 'temporal.toml'));
    expect(loadConnectionSettings(envWith({}))).toMatchObject({ address: 'temporal.internal:7233', namespace: 'batch-jobs' });
  });

  it('let TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the profile', () => {
    const settings = loadConnectionSettings(
      envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_ADDRESS: 'other.host:7233', TEMPORAL_NAMESPACE: 'override-ns' }),
    );
    expect(settings).toMatchObject({ address: 'other.host:7233', namespace: 'override-ns' });
  });

  it('select a profile with TEMPORAL_PROFILE; an API key turns TLS on and reaches both connections', () => {
    const settings = loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud' }));
    expect(settings).toEqual({
      address: 'waymark.a1b2c.tmprl.cloud:7233',
      namespace: 'waymark.a1b2c',
      tls: true,
      apiKey: 'key-from-profile',
      profile: 'cloud',
    });
    expect(clientConnectionOptions(settings)).toMatchObject({
      address: 'waymark.a1b2c.tmprl.cloud:7233',
      tls: true,
      apiKey: 'key-from-profile',
    });
    expect(workerConnectionOptions(settings)).toEqual({ address: 'waymark.a1b2c.tmprl.cloud:7233', tls: true, apiKey: 'key-from-profile' });
  });

  it('take TEMPORAL_API_KEY from the environment over the profile', () => {
    const settings = loadConnectionSettings(
      envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'key-from-env' }),
    );
    expect(workerConnectionOptions(settings)).toMatchObject({ apiKey: 'key-from-env', tls: true });
  });

  it('pass the TLS client certificate and key, server CA, server name and headers of a profile through', () => {
    const settings = loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'mtls' }));
    const expectedTls = {
      serverNameOverride: 'frontend.mtls.example',
      serverRootCACertificate: Uint8Array.from(Buffer.from('SERVER CA')),
      clientCertPair: { crt: Uint8Array.from(Buffer.from('CLIENT CERT')), key: Uint8Array.from(Buffer.from('CLIENT KEY')) },
    };
    for (const options of [clientConnectionOptions(settings), workerConnectionOptions(settings)]) {
      expect(options).toMatchObject({ address: 'mtls.example:7233', tls: expectedTls, metadata: { 'x-team': 'data' } });
      expect(options).not.toHaveProperty('apiKey');
    }
    expect(settings.namespace).toBe('mtls-ns');
  });

  it('take the TLS client certificate and key from TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH without any file', () => {
    const settings = loadConnectionSettings(
      envWith({
        TEMPORAL_ADDRESS: 'secure.example:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'),
      }),
    );
    expect(workerConnectionOptions(settings)).toEqual({
      address: 'secure.example:7233',
      tls: { clientCertPair: { crt: Uint8Array.from(Buffer.from('CLIENT CERT')), key: Uint8Array.from(Buffer.from('CLIENT KEY')) } },
    });
  });

  it('take gRPC headers from TEMPORAL_GRPC_META_*', () => {
    const settings = loadConnectionSettings(envWith({ TEMPORAL_GRPC_META_X_TENANT: 'acme' }));
    expect(clientConnectionOptions(settings).metadata).toEqual({ 'x-tenant': 'acme' });
  });

  it('let TEMPORAL_TLS=false turn TLS off even with an API key (a proxy that terminates TLS)', () => {
    const settings = loadConnectionSettings(envWith({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }));
    expect(workerConnectionOptions(settings)).toMatchObject({ tls: false, apiKey: 'k' });
  });

  it('refuse a client certificate without its key, naming what is missing', () => {
    expect(() => loadConnectionSettings(envWith({ TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem') }))).toThrow(
      new CliError(
        'mTLS needs a client certificate and its key together: the client key (TEMPORAL_TLS_CLIENT_KEY_PATH or client_key_path) is missing',
      ),
    );
  });

  it('refuse a TLS file that does not exist, naming it', () => {
    const missing = path.join(dir, 'nope.pem');
    const load = () =>
      loadConnectionSettings(
        envWith({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key') }),
      );
    expect(load).toThrow(CliError);
    expect(load).toThrow(missing);
  });

  it('refuse a profile the config file does not have, naming the file', () => {
    const load = () => loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'staging' }));
    expect(load).toThrow(CliError);
    expect(load).toThrow(/Profile 'staging' not found.*config file: .*temporal\.toml, TEMPORAL_PROFILE=staging/);
  });

  it('refuse a config file that is not TOML', () => {
    fs.writeFileSync(configFile, '[profile.default\naddress = ');
    expect(() => loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile }))).toThrow(
      /cannot read the Temporal connection profile/,
    );
  });

  it('hint at the dev server for a local address and at the credentials for a secured one', () => {
    const local = loadConnectionSettings(envWith({}));
    expect(connectionHint(local.address, new Error('refused'), local)).toMatch(/start one with `npx waymark dev`/);
    const cloud = loadConnectionSettings(envWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud' }));
    expect(connectionHint(cloud.address, new Error('unauthenticated'), cloud)).toBe(
      'no Temporal server reachable at waymark.a1b2c.tmprl.cloud:7233 (unauthenticated); check the address, namespace, API key and TLS settings from profile "cloud"',
    );
  });
});
