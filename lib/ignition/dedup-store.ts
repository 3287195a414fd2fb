/**
 * The duplicate window on disk, so that a restart or a full deploy does not turn Ignition's
 * resends into duplicate rows. One small binary file, replaced atomically (temp file, fsync,
 * rename): a header, the ids oldest first (16 bytes each), a CRC-32 of everything before it.
 * A torn, damaged or foreign file reads as an empty window: it costs duplicates, never a
 * refused or lost event.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, promises as fsp, renameSync, writeSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from '../spool/crc32';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../spool/dir-lock';
import type { DedupWindow } from './dedup';

const MAGIC = 0x5a424457; // "ZBDW"
const VERSION = 1;
const HEADER_BYTES = 12; // magic, version, id count
const ID_BYTES = 16;
/** the file holds ids little-endian: on such a machine they are copied in one go */
const LITTLE_ENDIAN = os.endianness() === 'LE';

export function encodeWindow(ids: Int32Array): Buffer {
  const count = ids.length / 4;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + count * ID_BYTES + 4);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(VERSION, 4);
  buf.writeUInt32BE(count, 8);
  if (LITTLE_ENDIAN) Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength).copy(buf, HEADER_BYTES);
  else for (let i = 0; i < ids.length; i++) buf.writeInt32LE(ids[i], HEADER_BYTES + 4 * i);
  const end = buf.length - 4;
  buf.writeUInt32BE(crc32(buf.subarray(0, end)), end);
  return buf;
}

/** The ids of a window file, or undefined when it is not a whole, intact one. */
export function decodeWindow(buf: Buffer): Int32Array | undefined {
  if (buf.length < HEADER_BYTES + 4) return undefined;
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt32BE(4) !== VERSION) return undefined;
  const count = buf.readUInt32BE(8);
  if (buf.length !== HEADER_BYTES + count * ID_BYTES + 4) return undefined;
  const end = buf.length - 4;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32BE(end)) return undefined;
  const ids = new Int32Array(count * 4);
  if (LITTLE_ENDIAN) buf.copy(Buffer.from(ids.buffer), 0, HEADER_BYTES, end);
  else for (let i = 0; i < ids.length; i++) ids[i] = buf.readInt32LE(HEADER_BYTES + 4 * i);
  return ids;
}

export class DedupStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** The saved ids, oldest first; empty when there is no intact file. */
  async load(): Promise<Int32Array> {
    try {
      return decodeWindow(await fsp.readFile(this.file)) ?? new Int32Array(0);
    } catch {
      return new Int32Array(0); // missing or unreadable: start with an empty window
    }
  }

  /** Replaces the file; saves run one at a time, in call order. */
  save(ids: Int32Array): Promise<void> {
    const content = encodeWindow(ids);
    const run = this.writing.then(() => this.replace(content));
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** The last save at a stop: synchronous, so it is on disk before the process exits. */
  saveNow(ids: Int32Array): void {
    const content = encodeWindow(ids);
    const tmp = `${this.file}.tmp`;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: PRIVATE_DIR_MODE });
    const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  private async replace(content: Buffer): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: PRIVATE_DIR_MODE });
    const handle = await fsp.open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, this.file);
  }
}

/** How often a changed window is saved while running (a crash costs at most this much of it: duplicates). */
export const DEDUP_SAVE_INTERVAL_MS = 5000;

/**
 * Keeps a DedupWindow on disk: restores it at start, saves it when changed every
 * DEDUP_SAVE_INTERVAL_MS and once more, synchronously, at close.
 */
export class PersistedDedupWindow {
  readonly ready: Promise<void>;
  loaded = false;
  private savedVersion = -1;
  private saving = false;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly window: DedupWindow,
    private readonly store: DedupStore,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.ready = store.load().then((ids) => {
      window.restore(ids);
      this.savedVersion = window.version;
      this.loaded = true;
    });
    this.timer = setInterval(() => this.saveIfChanged(), DEDUP_SAVE_INTERVAL_MS);
    this.timer.unref?.();
  }

  private saveIfChanged(): void {
    if (!this.loaded || this.saving || this.closed || this.window.version === this.savedVersion) return;
    const version = this.window.version;
    this.saving = true;
    this.store
      .save(this.window.knownIds())
      .then(() => (this.savedVersion = version), this.onError)
      .finally(() => (this.saving = false));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (!this.loaded) return; // never restored: the file on disk is still the better copy
    try {
      this.store.saveNow(this.window.knownIds());
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
