import * as fs from 'fs';
import * as path from 'path';
import { formatCreateTable, parseCreateTables, type Row, type TableSchema } from '../schema';

/**
 * Where accepted rows live. Each row is kept as its JSON text (column name → value, NULLs left
 * out): compact in memory and exactly the line written to disk.
 *
 * With a data dir every table has `tables/<name>.sql` (its DDL, so a restart without --schema
 * still knows it) and `tables/<name>.jsonl` (append-only, one row per line). Appends made during
 * one event-loop turn are written together and fsync'd once (group commit); callers are told
 * the rows are durable only after that fsync, and only then are the rows visible and counted.
 * A torn last line left by a crash is cut off on the next start.
 *
 * Memory keeps the newest `maxRowsInMemory` rows of each table (the web page and `rows()` read
 * those); `allRows()` reads the file when there is one.
 */

export type DurableCallback = (err: Error | null) => void;

const DEFAULT_MAX_ROWS_MEMORY_ONLY = 1_000_000;
const DEFAULT_MAX_ROWS_WITH_FILES = 10_000;

/** Rows of one request: their JSON lines, each ended by '\n'. */
interface Chunk {
  data: Buffer;
  count: number;
  /** Called when the chunk leaves memory for good (its buffer may be reused). */
  release?: () => void;
}

export class TableStore {
  private chunks: Chunk[] = [];
  private head = 0;
  private inMemory = 0;
  /** Rows in chunks[head..], counted whole. */
  private rowsInChunks = 0;
  private total = 0;
  private pending: Chunk[] = [];
  private pendingCallbacks: DurableCallback[] = [];
  private writing = false;
  private syncing = false;
  private written: { chunks: Chunk[]; callbacks: DurableCallback[] }[] = [];
  private scheduled = false;
  private fd: number | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    public schema: TableSchema,
    private readonly file: string | undefined,
    private readonly maxRows: number,
    private readonly onStored: (rows: number) => void,
  ) {
    if (file) this.load(file);
  }

  get rowCount(): number {
    return this.total;
  }

  /** Adds rows (`count` JSON lines in `data`); `done` runs once they are durable. */
  append(data: Buffer, count: number, done: DurableCallback, release?: () => void): void {
    const chunk: Chunk = release ? { data, count, release } : { data, count };
    if (this.fd === undefined) {
      this.remember([chunk]);
      done(null);
      return;
    }
    this.pending.push(chunk);
    this.pendingCallbacks.push(done);
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => this.writeGroup());
    }
  }

  /** Newest first. */
  rows(limit: number): Row[] {
    const out: Row[] = [];
    for (let c = this.chunks.length - 1; c >= this.head && out.length < limit; c--) {
      const { data, count } = this.chunks[c];
      // lines that fell out of the memory window at the start of the oldest chunk are skipped
      const skip = c === this.head ? this.inMemory - (this.rowsInChunks - count) : count;
      let end = data.length - 1;
      for (let k = 0; k < Math.min(count, skip) && out.length < limit; k++) {
        const start = data.lastIndexOf(10, end - 1) + 1;
        const row = parseLine(data.toString('utf8', start, end));
        if (row) out.push(row);
        end = start - 1;
      }
    }
    return out;
  }

  /** Oldest first. */
  allRows(): Row[] {
    if (!this.file) {
      const lines: string[] = [];
      for (let c = this.head; c < this.chunks.length; c++) lines.push(...splitLines(this.chunks[c].data));
      return lines.slice(lines.length - this.inMemory).map(parseLine).filter((r): r is Row => r !== undefined);
    }
    if (!fs.existsSync(this.file)) return [];
    return splitLines(fs.readFileSync(this.file))
      .map(parseLine)
      .filter((r): r is Row => r !== undefined);
  }

  /** Drops every row (memory and file). */
  clear(): Promise<void> {
    return this.whenIdle().then(() => {
      this.chunks = [];
      this.head = 0;
      this.inMemory = 0;
      this.rowsInChunks = 0;
      this.total = 0;
      if (this.fd !== undefined) fs.ftruncateSync(this.fd, 0);
    });
  }

  whenIdle(): Promise<void> {
    if (!this.writing && !this.syncing && !this.scheduled && this.written.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.whenIdle();
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private remember(chunks: Chunk[]): void {
    let added = 0;
    for (const chunk of chunks) {
      if (chunk.count === 0) continue;
      this.chunks.push(chunk);
      added += chunk.count;
    }
    this.total += added;
    this.rowsInChunks += added;
    this.inMemory = Math.min(this.maxRows, this.inMemory + added);
    // Whole chunks older than the memory window are dropped; the oldest kept one may be partial.
    while (this.head < this.chunks.length - 1 && this.rowsInChunks - this.chunks[this.head].count >= this.inMemory) {
      const dropped = this.chunks[this.head];
      this.rowsInChunks -= dropped.count;
      this.chunks[this.head] = undefined as unknown as Chunk;
      this.head++;
      dropped.release?.(); // written (and fsync'd) before it was remembered, read only by copying
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.onStored(added);
  }

  /**
   * Group commit in two overlapping stages: while one group is being fsync'd the next one is
   * already written, and fsyncs complete in write order, so each group's callbacks run only when
   * it and everything before it is on disk.
   */
  private writeGroup(): void {
    this.scheduled = false;
    if (this.writing || this.pendingCallbacks.length === 0 || this.fd === undefined) {
      this.settleIdle();
      return;
    }
    const group = { chunks: this.pending, callbacks: this.pendingCallbacks };
    this.pending = [];
    this.pendingCallbacks = [];
    this.writing = true;
    writeAll(
      this.fd,
      group.chunks.map((c) => c.data),
      (err) => {
        this.writing = false;
        if (err) {
          for (const cb of group.callbacks) cb(err);
        } else {
          this.written.push(group);
          this.syncWritten();
        }
        if (this.pendingCallbacks.length > 0) this.writeGroup();
        else this.settleIdle();
      },
    );
  }

  private syncWritten(): void {
    if (this.syncing || this.written.length === 0 || this.fd === undefined) return;
    const groups = this.written;
    this.written = [];
    this.syncing = true;
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      for (const group of groups) {
        if (!err) this.remember(group.chunks);
        for (const cb of group.callbacks) cb(err);
      }
      this.syncWritten();
      this.settleIdle();
    });
  }

  private settleIdle(): void {
    if (this.writing || this.syncing || this.scheduled || this.written.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private load(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a+');
    const size = fs.fstatSync(this.fd).size;
    const validEnd = lastNewlineEnd(this.fd, size);
    if (validEnd < size) fs.ftruncateSync(this.fd, validEnd); // torn write of a crash: never acked
    this.total = countNewlines(this.fd, validEnd);
    const tail = readTailLines(this.fd, validEnd, this.maxRows);
    if (tail.length) {
      this.chunks = [{ data: Buffer.from(tail.join('\n') + '\n'), count: tail.length }];
      this.inMemory = tail.length;
      this.rowsInChunks = tail.length;
    }
  }
}

/** Writes every buffer (vectored, resuming after short writes). */
function writeAll(fd: number, buffers: Buffer[], cb: (err: Error | null) => void): void {
  const rest = buffers.filter((b) => b.length > 0);
  if (rest.length === 0) return cb(null);
  fs.writev(fd, rest.slice(0, 1024), (err, written) => {
    if (err) return cb(err);
    let left = written;
    while (rest.length && left >= rest[0].length) left -= rest.shift()!.length;
    if (left > 0) rest[0] = rest[0].subarray(left);
    writeAll(fd, rest, cb);
  });
}

function splitLines(data: Buffer): string[] {
  const lines = data.toString('utf8').split('\n');
  lines.pop(); // after the last newline
  return lines;
}

function parseLine(line: string): Row | undefined {
  try {
    return JSON.parse(line) as Row;
  } catch {
    return undefined;
  }
}

const CHUNK = 1 << 20;

function lastNewlineEnd(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const n = fs.readSync(fd, buf, 0, end - start, start);
    const idx = buf.subarray(0, n).lastIndexOf(10);
    if (idx >= 0) return start + idx + 1;
    end = start;
  }
  return 0;
}

function countNewlines(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let count = 0;
  for (let pos = 0; pos < size; ) {
    const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
    if (n <= 0) break;
    let i = -1;
    const view = buf.subarray(0, n);
    while ((i = view.indexOf(10, i + 1)) >= 0) count++;
    pos += n;
  }
  return count;
}

function readTailLines(fd: number, size: number, max: number): string[] {
  if (max <= 0 || size === 0) return [];
  const chunks: Buffer[] = [];
  let newlines = 0;
  let start = size;
  while (start > 0 && newlines <= max) {
    const from = Math.max(0, start - CHUNK);
    const buf = Buffer.allocUnsafe(start - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) newlines++;
    chunks.unshift(buf);
    start = from;
  }
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  lines.pop(); // the text after the last newline is empty
  if (start > 0) lines.shift(); // a partial first line
  return lines.slice(-max);
}

function fileName(table: string): string {
  return /^[a-z0-9_.-]+$/.test(table) ? table : encodeURIComponent(table);
}

export interface StorageOptions {
  dataDir?: string;
  maxRowsInMemory?: number;
  onStored?: (rows: number) => void;
}

/** Every table the emulator knows, with its rows. */
export class Storage {
  readonly tables = new Map<string, TableStore>();
  private readonly tableDir?: string;
  private readonly maxRows: number;
  private readonly onStored: (rows: number) => void;

  constructor(opts: StorageOptions) {
    this.tableDir = opts.dataDir ? path.join(opts.dataDir, 'tables') : undefined;
    this.maxRows = opts.maxRowsInMemory ?? (opts.dataDir ? DEFAULT_MAX_ROWS_WITH_FILES : DEFAULT_MAX_ROWS_MEMORY_ONLY);
    this.onStored = opts.onStored ?? (() => undefined);
  }

  /** Tables remembered in the data dir from earlier runs. */
  loadPersisted(): void {
    if (!this.tableDir || !fs.existsSync(this.tableDir)) return;
    for (const entry of fs.readdirSync(this.tableDir).sort()) {
      if (!entry.endsWith('.sql')) continue;
      const file = path.join(this.tableDir, entry);
      let tables: TableSchema[];
      try {
        tables = parseCreateTables(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`cannot read the table definition ${file}: ${(err as Error).message}`);
      }
      for (const table of tables) this.define(table, false);
    }
  }

  /** Adds a table or replaces its schema (rows are kept). */
  define(schema: TableSchema, persist = true): TableStore {
    const existing = this.tables.get(schema.name);
    if (this.tableDir && persist) {
      fs.mkdirSync(this.tableDir, { recursive: true });
      const ddl = path.join(this.tableDir, fileName(schema.name) + '.sql');
      fs.writeFileSync(ddl + '.tmp', formatCreateTable(schema));
      fs.renameSync(ddl + '.tmp', ddl);
    }
    if (existing) {
      existing.schema = schema;
      return existing;
    }
    const file = this.tableDir ? path.join(this.tableDir, fileName(schema.name) + '.jsonl') : undefined;
    const store = new TableStore(schema, file, this.maxRows, this.onStored);
    this.tables.set(schema.name, store);
    return store;
  }

  get(name: string): TableStore | undefined {
    return this.tables.get(name.toLowerCase());
  }

  async close(): Promise<void> {
    await Promise.all([...this.tables.values()].map((t) => t.close()));
  }
}
