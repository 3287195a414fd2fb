import * as fs from 'fs';
import * as path from 'path';
import { LINKED_PACKAGE_DIR } from '../../demo/node-red-process';

/** End-to-end tests load the built package, as a user's Node-RED does: `npm test` builds it first. */
export function requireBuiltPackage(): void {
  if (!fs.existsSync(path.join(LINKED_PACKAGE_DIR, 'dist', 'nodes', 'zerobus-out', 'zerobus-out.js'))) {
    throw new Error('dist/ is missing or incomplete: run `npm run build` (npm test does it) before the end-to-end tests');
  }
}

/** Polls `probe` until it returns a truthy value or the time is up. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
