/**
 * The Temporal server and temporal-sql-tool of the pinned version, built from source with Go
 * (`go install go.temporal.io/server/cmd/server@vX`) into a project-local folder, once: a folder
 * whose VERSION file names the pinned version is used as it is. The versioned schema files the
 * sql tool migrates with are copied from the Go module next to the binaries.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION } from './cluster-layout';

export interface ServerBinaries {
  dir: string;
  /** `temporal-server`: `--config-file F start --service S`. */
  server: string;
  /** `temporal-sql-tool`. */
  sqlTool: string;
  /** Holds `temporal/versioned` and `visibility/versioned` for PostgreSQL. */
  schemaDir: string;
}

const VERSION_FILE = 'VERSION';
const OUTPUT_TAIL_CHARS = 3000;

export class GoMissingError extends Error {
  override name = 'GoMissingError';
}

function layout(dir: string): ServerBinaries {
  return {
    dir,
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

/** The build in `dir` if it is complete and of the pinned version. */
export function builtServerBinaries(dir: string): ServerBinaries | undefined {
  const binaries = layout(dir);
  let version: string;
  try {
    version = fs.readFileSync(path.join(dir, VERSION_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  const complete = [binaries.server, binaries.sqlTool, binaries.schemaDir].every((p) => fs.existsSync(p));
  return version === TEMPORAL_SERVER_VERSION && complete ? binaries : undefined;
}

/**
 * Builds into a staging folder beside `dir` and renames it into place when everything is there,
 * so an interrupted build never looks finished. Go's own caches make a rebuild take seconds.
 */
export async function buildServerBinaries(dir: string, log: (line: string) => void): Promise<ServerBinaries> {
  const existing = builtServerBinaries(dir);
  if (existing) return existing;

  await requireGo();
  const staging = `${dir}.building-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const version = `v${TEMPORAL_SERVER_VERSION}`;
  // The module asks for a newer Go than many machines have; GOTOOLCHAIN=auto fetches that toolchain
  // through the Go module proxy, as `go install` itself suggests.
  const env = { ...process.env, GOTOOLCHAIN: process.env.GOTOOLCHAIN || 'auto', GOBIN: staging };
  log(
    `building Temporal server ${version} and temporal-sql-tool with Go into ${dir} (once; minutes the first time, seconds when Go's caches are warm)`,
  );
  try {
    await run(
      'go',
      ['install', `${TEMPORAL_SERVER_MODULE}/cmd/server@${version}`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${version}`],
      env,
      'building the Temporal server',
    );
    const moduleDir = (
      JSON.parse(
        await run('go', ['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}@${version}`], env, 'locating the server module'),
      ) as { Dir: string }
    ).Dir;
    const built = layout(staging);
    fs.renameSync(path.join(staging, 'server'), built.server);
    fs.renameSync(path.join(staging, 'sql'), built.sqlTool);
    fs.cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), built.schemaDir, { recursive: true });
    makeWritable(path.join(staging, 'schema'));
    fs.writeFileSync(path.join(staging, VERSION_FILE), `${TEMPORAL_SERVER_VERSION}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const binaries = builtServerBinaries(dir);
  if (!binaries)
    throw new Error(
      `the build of Temporal server ${version} finished but ${dir} is incomplete; delete it and run \`npm run cluster\` again`,
    );
  log(`built Temporal server ${version} into ${dir}`);
  return binaries;
}

/** Go's module cache is read-only, and so are copies of it, which a later `rm -r` by a non-root user could not delete. */
function makeWritable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(file);
    else fs.chmodSync(file, 0o644);
  }
}

const INSTALL_GO =
  'Install Go 1.21 or newer, which fetches the newer toolchain the server needs by itself: from https://go.dev/dl/ ' +
  '(unpack into /usr/local, put /usr/local/go/bin on PATH), `brew install go` on macOS, or a distribution package that new ' +
  "(Debian 13 and Ubuntu 24.04: `apt-get install golang-go`; Debian 12's is 1.19, too old); then run `npm run cluster` again. " +
  'No Go at all? `docker compose -f temporal-compose.yml up` runs the same cluster from images.';

/** Go 1.21 is the first that fetches a newer toolchain (GOTOOLCHAIN=auto) when a module asks for one. */
async function requireGo(): Promise<void> {
  let version: string;
  try {
    version = await run('go', ['env', 'GOVERSION'], { ...process.env, GOTOOLCHAIN: 'local' }, 'checking for Go');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new GoMissingError(
      `Go is not installed (no \`go\` on PATH), and the local cluster's Temporal server ${TEMPORAL_SERVER_VERSION} is built from source with it. ${INSTALL_GO}`,
    );
  }
  const match = /^go1\.(\d+)/.exec(version.trim());
  if (match && Number(match[1]) < 21) {
    throw new GoMissingError(
      `Go on PATH is ${version.trim()}, too old to build the local cluster's Temporal server ${TEMPORAL_SERVER_VERSION}. ${INSTALL_GO}`,
    );
  }
}

/** Runs a command, resolving with its stdout; rejects with the tail of its output, or the spawn error (ENOENT) as it is. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const output = `${stdout}${stderr}`.trim();
      const tail = output.length > OUTPUT_TAIL_CHARS ? `…${output.slice(-OUTPUT_TAIL_CHARS)}` : output;
      reject(
        new Error(
          `${what} failed: \`${command} ${args.join(' ')}\` ${signal ? `was killed by ${signal}` : `exited with code ${code}`}:\n${tail}`,
        ),
      );
    });
  });
}
