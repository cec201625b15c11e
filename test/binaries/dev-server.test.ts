/**
 * The embedded default server on a real `temporal server start-dev`: search attributes are
 * registered, a restart on the same SQLite file keeps them and the executions, and failures
 * to start say why.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { requireTemporalCli } from '../../src/server/resolve-binaries';
import { runDevServer, startDevServerInBackground, type BackgroundDevServer } from '../../src/server/dev-server';
import { localConnectionSettings, serverAnswers } from '../../src/connection/connect';

/** Whether a plaintext local Temporal frontend answers at `address`. */
const isServerListening = (address: string, timeoutMs?: number) => serverAnswers(localConnectionSettings(address), timeoutMs);
import { findFreePort, startOnFreePorts } from '../../tools/support/free-port';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';

const WAYMARK_ATTRIBUTE_TYPES = {
  WaymarkStatus: 2, // INDEXED_VALUE_TYPE_KEYWORD
  WaymarkSucceeded: 3, // INDEXED_VALUE_TYPE_INT
  WaymarkFailed: 3,
};

let running: BackgroundDevServer[] = [];

async function start(dataDir: string, port?: number): Promise<BackgroundDevServer> {
  const server =
    port === undefined
      ? await startOnFreePorts(2, ([freePort, uiPort]) => startDevServerInBackground({ dataDir, port: freePort, uiPort }))
      : await startDevServerInBackground({ dataDir, port, uiPort: await findFreePort() });
  running.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(running.map((server) => server.stop()));
  running = [];
  removeTempDirs();
});

async function withClient<T>(address: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

function waymarkAttributeTypes(address: string): Promise<Record<string, unknown>> {
  return withClient(address, async (client) => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    return Object.fromEntries(Object.entries(customAttributes ?? {}).filter(([name]) => name.startsWith('Waymark')));
  });
}

/** Creates `<dataDir>/temporal.sqlite` the way a user's own `temporal server start-dev` would. */
async function makeDatabaseWithPlainStartDev(dataDir: string, extraArgs: string[] = []): Promise<void> {
  const port = await findFreePort();
  const plain = spawn(
    requireTemporalCli(),
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--db-filename',
      path.join(dataDir, 'temporal.sqlite'),
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => plain.once('exit', resolve));
  try {
    await waitFor('a plain temporal server start-dev to listen', () => isServerListening(`127.0.0.1:${port}`, 200));
  } finally {
    plain.kill('SIGTERM');
  }
  await exited;
}

describe('startDevServerInBackground', () => {
  it('registers the search attributes, and a restart on the same SQLite file keeps them and a running workflow', async () => {
    const dataDir = path.join(makeTempDir(), 'data');
    const first = await start(dataDir);
    expect(first.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first.dbFile).toBe(path.join(dataDir, 'temporal.sqlite'));
    expect(await isServerListening(first.address)).toBe(true);
    expect(await waymarkAttributeTypes(first.address)).toEqual(WAYMARK_ATTRIBUTE_TYPES);
    // No worker polls this queue, so the execution simply stays open across the restart.
    await withClient(first.address, (client) =>
      client.workflow.start('batchWorkflow', { taskQueue: 'nobody-polls', workflowId: 'survives-restart' }),
    );
    await first.stop();
    expect(await isServerListening(first.address, 500)).toBe(false);

    const second = await start(dataDir);
    expect(await waymarkAttributeTypes(second.address)).toEqual(WAYMARK_ATTRIBUTE_TYPES);
    const query = `WorkflowId = 'survives-restart' AND ExecutionStatus = 'Running'`;
    await withClient(second.address, (client) =>
      // Visibility (what `list` reads) is updated asynchronously by the server.
      waitFor('the workflow started before the restart to be listed as running', async () => {
        for await (const execution of client.workflow.list({ query })) return execution.workflowId === 'survives-restart';
        return false;
      }),
    );
  });

  it('adds the search attributes to a SQLite file made by a plain `temporal server start-dev`', async () => {
    const dataDir = makeTempDir();
    await makeDatabaseWithPlainStartDev(dataDir);
    const server = await start(dataDir);
    expect(await waymarkAttributeTypes(server.address)).toEqual(WAYMARK_ATTRIBUTE_TYPES);
  });

  it('refuses a SQLite file where a waymark search attribute has another type, naming it', async () => {
    const dataDir = makeTempDir();
    await makeDatabaseWithPlainStartDev(dataDir, ['--search-attribute', 'WaymarkStatus=Int']);
    await expect(start(dataDir)).rejects.toThrow(
      /WaymarkStatus is registered in namespace "default" as Int, but waymark needs Keyword.*WAYMARK_DATA_DIR/,
    );
  });

  it('refuses a port that is taken, naming it', async () => {
    const taken = await start(makeTempDir());
    const port = Number(taken.address.split(':')[1]);
    await expect(start(makeTempDir(), port)).rejects.toThrow(`127.0.0.1:${port} (its gRPC port) is already in use`);
  });

  it('can leave the server running detached, with its output in a log file next to the database', async () => {
    const dataDir = makeTempDir();
    const server = await startOnFreePorts(2, ([port, uiPort]) => startDevServerInBackground({ dataDir, port, uiPort, detached: true }));
    running.push(server);
    expect(server.logFile).toBe(path.join(dataDir, 'temporal.log'));
    await waitFor('the banner in the log file', async () =>
      fs.readFileSync(server.logFile, 'utf8').includes(`Temporal Persistence: ${server.dbFile}`),
    );
    expect(() => process.kill(server.pid, 0)).not.toThrow();
    // Its own process group, so a Ctrl-C aimed at the demo's terminal does not reach it.
    expect(execFileSync('ps', ['-o', 'pgid=', '-p', String(server.pid)], { encoding: 'utf8' }).trim()).toBe(String(server.pid));
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it('moves to new ports when another process takes one between the check and the bind', async () => {
    // A temporal executable that loses the race once, as start-dev does when a port is taken under it.
    const dir = makeTempDir();
    const cli = path.join(dir, 'temporal');
    const lostOnce = path.join(dir, 'lost-once');
    fs.writeFileSync(
      cli,
      `#!/bin/sh\nif [ ! -e '${lostOnce}' ]; then touch '${lostOnce}'; echo "Error: can't set frontend port: listen tcp 127.0.0.1:1: bind: address already in use" >&2; exit 1; fi\nexec '${requireTemporalCli()}' "$@"\n`,
      { mode: 0o755 },
    );
    const tried: number[][] = [];
    const saved = process.env.WAYMARK_TEMPORAL_CLI;
    process.env.WAYMARK_TEMPORAL_CLI = cli;
    try {
      const server = await startOnFreePorts(2, (ports) => {
        tried.push(ports);
        return startDevServerInBackground({ dataDir: path.join(dir, 'data'), port: ports[0], uiPort: ports[1] });
      });
      running.push(server);
      expect(tried).toHaveLength(2);
      expect(server.address).toBe(`127.0.0.1:${tried[1][0]}`);
      expect(await waymarkAttributeTypes(server.address)).toEqual(WAYMARK_ATTRIBUTE_TYPES);
    } finally {
      if (saved === undefined) delete process.env.WAYMARK_TEMPORAL_CLI;
      else process.env.WAYMARK_TEMPORAL_CLI = saved;
    }
  });

  it("reports a server that dies at startup with the tail of the server's output", async () => {
    const dataDir = makeTempDir();
    // A folder where the SQLite file should be: start-dev cannot open its database.
    fs.mkdirSync(path.join(dataDir, 'temporal.sqlite'));
    await expect(start(dataDir)).rejects.toThrow(
      /exited with code \d+ before accepting connections.*\nLast output of the server \(.*temporal\.log\):\n.*unable to open database file/s,
    );
  });
});

describe('runDevServer (`waymark dev`)', () => {
  it('runs until SIGTERM, forwards it to the server and returns its exit code', async () => {
    const port = await findFreePort();
    const address = `127.0.0.1:${port}`;
    const exitCode = runDevServer({ dataDir: makeTempDir(), port, uiPort: await findFreePort() });
    try {
      // Ready means the search attributes are in place, so wait for them rather than for the port.
      await waitFor(
        'the foreground dev server to register the search attributes',
        async () => (await isServerListening(address, 200)) && Object.keys(await waymarkAttributeTypes(address)).length === 3,
      );
      expect(await waymarkAttributeTypes(address)).toEqual(WAYMARK_ATTRIBUTE_TYPES);
    } finally {
      // As if `kill <pid>` reached the CLI process: only runDevServer listens for it here.
      process.emit('SIGTERM', 'SIGTERM');
    }
    expect(await exitCode).toBe(0);
    expect(await isServerListening(address, 500)).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
