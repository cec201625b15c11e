/**
 * Runs the real `waymark` command (bin/waymark.js, which loads the built dist/src/cli/cli.js) as a
 * child process, the way a user's shell would. `npm test` builds first; when running jest alone,
 * run `npm run build` after changing src.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';

const BIN = path.resolve(__dirname, '../../bin/waymark.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  env: Record<string, string>;
  cwd: string;
  /** Kill the command after this long, so a hang fails the test instead of stalling it. */
  timeoutMs?: number;
}

export function runCli(args: string[], { env, cwd, timeoutMs = 60_000 }: CliOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`waymark ${args.join(' ')} was killed by ${signal}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh temp folder by its real path, so it matches the absolute paths the CLI prints. */
export function makeRealTempDir(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
