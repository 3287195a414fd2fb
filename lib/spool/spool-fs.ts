/**
 * The file operations the disk spool needs, behind an interface so that tests can inject
 * faults (ENOSPC, EIO) and count calls. Everything is asynchronous: the spool never blocks the
 * event loop on disk I/O.
 */
import { promises as fsp } from 'fs';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './dir-lock';

export interface SpoolFile {
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** may write fewer bytes than asked (returns how many) */
  write(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface SpoolFs {
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** 'create': new empty file (replaces one left over), read/write; 'existing': read/write */
  open(path: string, mode: 'create' | 'existing'): Promise<SpoolFile>;
  /** undefined when the file does not exist */
  readFile(path: string): Promise<Buffer | undefined>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** makes created, renamed and deleted entries of the directory durable */
  syncDir(dir: string): Promise<void>;
}

class NodeSpoolFile implements SpoolFile {
  constructor(private readonly handle: fsp.FileHandle) {}

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return (await this.handle.read(buf, offset, length, position)).bytesRead;
  }

  async write(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return (await this.handle.write(buf, offset, length, position)).bytesWritten;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export const nodeSpoolFs: SpoolFs = {
  async mkdir(dir) {
    // private to the user running Node-RED (tag values are plant data); an existing folder is
    // tightened too, which fails harmlessly on one this user does not own
    await fsp.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await fsp.chmod(dir, PRIVATE_DIR_MODE).catch(() => undefined);
  },
  readdir(dir) {
    return fsp.readdir(dir);
  },
  async open(path, mode) {
    const handle = await fsp.open(path, mode === 'create' ? 'w+' : 'r+', PRIVATE_FILE_MODE);
    await handle.chmod(PRIVATE_FILE_MODE).catch(() => undefined); // files of older versions were 0644
    return new NodeSpoolFile(handle);
  },
  async readFile(path) {
    try {
      return await fsp.readFile(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  },
  async syncDir(dir) {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(dir, 'r');
      await handle.sync();
    } catch (err) {
      // Some platforms (Windows) cannot open or fsync a directory; entries are durable there anyway.
      const code = (err as NodeJS.ErrnoException)?.code;
      if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw err;
    } finally {
      await handle?.close();
    }
  },
};

/** Writes all of buf at position, looping over short writes. */
export async function writeFully(file: SpoolFile, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await file.write(buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}

/** Reads up to length bytes at position (fewer only at end of file). */
export async function readFully(file: SpoolFile, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = await file.read(buf, done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}
