import * as path from 'path';
import { SpoolLockedError } from './types';

/**
 * Directories opened by a spool of this process. Two spools appending to one directory would
 * interleave their logs, e.g. two zerobus-out nodes configured with the same spoolDir.
 * (Across processes nothing portable exists without native code; a pid file would be
 * wrongly considered alive after a reboot reuses the pid.)
 */
const lockedDirs = new Set<string>();

export function lockDir(dir: string): () => void {
  const key = path.resolve(dir);
  if (lockedDirs.has(key)) throw new SpoolLockedError(key);
  lockedDirs.add(key);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    lockedDirs.delete(key);
  };
}
