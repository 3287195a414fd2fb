/**
 * One spool per directory, across processes: two writers appending to one log interleave and
 * lose acknowledged records. A lock file names its owner (pid, host, boot); it is created
 * complete and atomically (written under a private name, then hard-linked into place, which
 * fails when the name exists). A lock left by a dead process of this host is taken over; any
 * other lock refuses the open with an error that names the owner.
 *
 * A pid alone would look alive after a reboot reuses it: the boot id (Linux) tells a lock of an
 * earlier boot, which is stale whatever its pid.
 */
import { promises as fsp, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SpoolLockedError, type SpoolLockOwner } from './types';

export const LOCK_FILE = 'spool.lock';
/** Spool folders and files are private to the user running Node-RED: tag values are plant data. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Directories opened by a spool of this process (a second zerobus-out on the same folder). */
const lockedDirs = new Set<string>();

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return ''; // not Linux: the pid check alone decides
  }
}
const BOOT_ID = readBootId();

function thisOwner(): SpoolLockOwner {
  return { pid: process.pid, host: os.hostname(), boot: BOOT_ID, since: new Date().toISOString() };
}

function parseOwner(text: string | undefined): SpoolLockOwner | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SpoolLockOwner>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') {
      return { pid: v.pid, host: v.host, boot: typeof v.boot === 'string' ? v.boot : '', since: typeof v.since === 'string' ? v.since : '' };
    }
  } catch {
    // torn or foreign content: see isStale
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/**
 * A lock whose owner cannot be running: a process of this host (same boot) that is gone, or
 * any process of this host in an earlier boot. An unreadable lock is stale only when old
 * enough that its writer cannot still be finishing it (it is written before it is linked, so
 * this only happens to a file damaged later).
 */
function isStale(owner: SpoolLockOwner | undefined, ageMs: number): boolean {
  if (!owner) return ageMs > 10_000;
  if (owner.host !== os.hostname()) return false;
  if (owner.boot && BOOT_ID && owner.boot !== BOOT_ID) return true;
  if (owner.pid === process.pid) return false;
  return !processAlive(owner.pid);
}

async function readLock(file: string): Promise<{ text: string; ageMs: number } | undefined> {
  try {
    const [text, stat] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    return { text, ageMs: Date.now() - stat.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** File systems without hard links (FAT, some network shares) answer link() with one of these. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Creates `file` holding `content` only if no file of that name exists; false when one does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fsp.writeFile(tmp, content, { mode: PRIVATE_FILE_MODE });
  try {
    await fsp.link(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (NO_LINKS.has(code)) return createExclusiveWithoutLinks(file, content);
    throw err;
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
}

/** O_EXCL create, then write: a reader may briefly see it empty (read as unreadable, see isStale). */
async function createExclusiveWithoutLinks(file: string, content: string): Promise<boolean> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'wx', PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Moves a stale lock aside, checking that what was moved is the lock judged stale (another
 * process may have taken it over meanwhile; then it is put back, and the caller looks again).
 */
async function removeStale(file: string, staleText: string): Promise<void> {
  const aside = `${file}.${process.pid}.stale`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) await fsp.link(aside, file).catch(() => undefined);
  await fsp.unlink(aside).catch(() => undefined);
}

/**
 * Takes the directory's lock (the directory must exist). Resolves to the function that
 * releases it; rejects with SpoolLockedError naming the owner when another live process holds it.
 */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const key = path.resolve(dir);
  if (lockedDirs.has(key)) throw new SpoolLockedError(key);
  lockedDirs.add(key);
  const file = path.join(key, LOCK_FILE);
  const mine = JSON.stringify(thisOwner());
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 5) throw new SpoolLockedError(key); // the lock keeps changing hands
      if (await createExclusive(file, mine)) break;
      const found = await readLock(file);
      if (!found) continue; // released meanwhile
      const owner = parseOwner(found.text);
      if (!isStale(owner, found.ageMs)) throw new SpoolLockedError(key, owner);
      await removeStale(file, found.text);
    }
  } catch (err) {
    lockedDirs.delete(key);
    throw err;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      // only our own lock: a folder emptied by hand may have been locked by another process since
      const found = await readLock(file);
      if (found?.text === mine) await fsp.unlink(file);
    } catch {
      // a lock left behind is stale once this process is gone
    } finally {
      lockedDirs.delete(key);
    }
  };
}
