import * as fs from 'fs';
import * as path from 'path';

/**
 * The package root, found by walking up from this file: the same code runs from `lib/`
 * (tests, via tsx) and from `dist/lib/` (the published package), at different depths.
 */
function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, 'utf8')).name === '@ot-lakehouse/node-red-zerobus') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the @ot-lakehouse/node-red-zerobus package root');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
export const PROTO_DIR = path.join(PACKAGE_ROOT, 'proto');

export const PACKAGE_VERSION: string = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;
