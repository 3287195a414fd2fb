import * as fs from 'fs';
import * as path from 'path';
import { LINKED_PACKAGE_DIR } from '../../demo/node-red-process';
import { waitFor } from './wait-for';

/** End-to-end tests load the built package, as a user's Node-RED does: `npm test` builds it first. */
export function requireBuiltPackage(): void {
  if (!fs.existsSync(path.join(LINKED_PACKAGE_DIR, 'dist', 'nodes', 'zerobus-out', 'zerobus-out.js'))) {
    throw new Error('dist/ is missing or incomplete: run `npm run build` (npm test does it) before the end-to-end tests');
  }
}

/** waitFor (wait-for.ts) with the pace of end-to-end tests: a process, not a function, answers. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  return (await waitFor(what, probe, { timeoutMs, everyMs })) as T;
}
