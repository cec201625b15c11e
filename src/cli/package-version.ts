/** The version of the installed waymark package, read from its package.json. */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Read at run time, from the nearest package.json above this file named waymark: the file sits at
 * src/cli when run from source (tests) and at dist/src/cli when built, so no fixed path fits both.
 */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'waymark' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
