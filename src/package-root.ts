import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding planewatch's package.json (and its web/ and captures/), found by walking up
 * from this module: the same answer whether it runs from the TypeScript sources or from the bundle
 * in dist/, which sit at different depths.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; ) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'planewatch') return dir;
    } catch {
      // no package.json here (or not one we can read): keep going up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`planewatch: cannot find its package.json above ${start}`);
    dir = up;
  }
}
