import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nodeSpoolFs, type Spool, type SpoolFile, type SpoolFs, type SpoolRecord } from '../../../lib/spool';

export function makeTempDir(prefix = 'spool-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic payload of a given seq, so that any record can be checked byte for byte. */
export function payloadFor(seq: number, size = 40): Buffer {
  const head = `seq:${seq}:`;
  const buf = Buffer.alloc(Math.max(size, head.length));
  buf.write(head);
  for (let i = head.length; i < buf.length; i++) buf[i] = (seq * 31 + i * 7) & 0xff;
  return buf;
}

export function payloads(firstSeq: number, count: number, size?: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => payloadFor(firstSeq + i, size));
}

/** Every unacknowledged record, reading in small pages like a consumer would. */
export async function readAll(spool: Spool, pageRecords = 97): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  let after = 0;
  for (;;) {
    const page = await spool.readAfter(after, pageRecords, 1 << 30);
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1].seq;
  }
}

export function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

export function errnoError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: simulated disk error`);
  err.code = code;
  return err;
}

type Op = 'write' | 'datasync' | 'truncate' | 'open' | 'rename';

interface Fault {
  op: Op;
  code: string;
  times: number;
  /** for 'write': write this many bytes before failing (a partial write) */
  partialBytes?: number;
}

/**
 * The real file system with faults injected on demand and calls counted — what a full or
 * failing disk looks like to the spool.
 */
export class FaultyFs implements SpoolFs {
  readonly calls: Record<Op, number> = { write: 0, datasync: 0, truncate: 0, open: 0, rename: 0 };
  private faults: Fault[] = [];
  /** while set, every datasync waits for it */
  datasyncGate: Promise<void> | undefined;
  /** told when a datasync is called (before its gate) and when the real one has completed */
  onDatasync: ((phase: 'started' | 'done') => void) | undefined;
  /** while set, every read waits for it */
  readGate: Promise<void> | undefined;
  /** while set, every write to a segment file waits for it (an append held in the middle of its commit) */
  segmentWriteGate: Promise<void> | undefined;
  reads = 0;

  fail(op: Op, code: string, opts: { times?: number; partialBytes?: number } = {}): void {
    this.faults.push({ op, code, times: opts.times ?? 1, partialBytes: opts.partialBytes });
  }

  heal(): void {
    this.faults = [];
  }

  /** throws the planned error for op, if any; returns the fault for partial handling */
  private take(op: Op): Fault | undefined {
    this.calls[op]++;
    const fault = this.faults.find((f) => f.op === op && f.times > 0);
    if (fault) fault.times--;
    return fault;
  }

  mkdir(dir: string): Promise<void> {
    return nodeSpoolFs.mkdir(dir);
  }
  readdir(dir: string): Promise<string[]> {
    return nodeSpoolFs.readdir(dir);
  }
  readFile(p: string): Promise<Buffer | undefined> {
    return nodeSpoolFs.readFile(p);
  }
  async rename(from: string, to: string): Promise<void> {
    const fault = this.take('rename');
    if (fault) throw errnoError(fault.code);
    return nodeSpoolFs.rename(from, to);
  }
  unlink(p: string): Promise<void> {
    return nodeSpoolFs.unlink(p);
  }
  syncDir(dir: string): Promise<void> {
    return nodeSpoolFs.syncDir(dir);
  }

  async open(p: string, mode: 'create' | 'existing'): Promise<SpoolFile> {
    const fault = this.take('open');
    if (fault) throw errnoError(fault.code);
    const file = await nodeSpoolFs.open(p, mode);
    return {
      read: async (buf, offset, length, position) => {
        this.reads++;
        if (this.readGate) await this.readGate;
        return file.read(buf, offset, length, position);
      },
      write: async (buf, offset, length, position) => {
        if (this.segmentWriteGate && p.endsWith('.seg')) await this.segmentWriteGate;
        const f = this.take('write');
        if (f) {
          if (f.partialBytes) await file.write(buf, offset, Math.min(f.partialBytes, length), position);
          throw errnoError(f.code);
        }
        return file.write(buf, offset, length, position);
      },
      datasync: async () => {
        const f = this.take('datasync');
        this.onDatasync?.('started');
        if (this.datasyncGate) await this.datasyncGate;
        if (f) throw errnoError(f.code);
        await file.datasync();
        this.onDatasync?.('done');
      },
      truncate: async (length) => {
        const f = this.take('truncate');
        if (f) throw errnoError(f.code);
        return file.truncate(length);
      },
      size: () => file.size(),
      close: () => file.close(),
    };
  }
}
