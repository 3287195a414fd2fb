/**
 * Collects stored rows as bytes: JSON lines, each ended by '\n', in one growing buffer. The
 * PROTO fast path writes straight into it, so a request's rows go to memory and disk as one
 * Buffer without ever becoming JS strings.
 */
import { grownBuffer } from '../buffer-growth';

/**
 * Buffers of stored rows that their owner released (rows that left the emulator's memory
 * window), reused for new rows: writing into memory the process already has is several times
 * cheaper than into fresh allocations, whose pages the kernel must fault in first.
 */
const FREE: Buffer[] = [];
const FREE_MAX = 64;

function recycled(min: number): Buffer {
  const b = FREE.pop();
  return b !== undefined && b.length >= min ? b : Buffer.allocUnsafe(min);
}

export class LineWriter {
  buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  len = 0;
  lines = 0;

  ensure(n: number): void {
    if (this.len + n > this.buf.length) this.buf = grownBuffer(this.buf, this.len, n);
  }

  /** Bytes of a string known to be ASCII (keys, numbers, base64). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let o = this.len;
    for (let i = 0; i < n; i++) buf[o++] = s.charCodeAt(i);
    this.len = o;
  }

  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** A whole line given as text (without the '\n'). */
  line(s: string): void {
    this.utf8(s);
    this.ensure(1);
    this.buf[this.len++] = 10;
    this.lines++;
  }

  /**
   * The rows written since the last take(), as an owned Buffer; the writer is then empty. The
   * writer hands over its own buffer (no copy of the rows) and starts the next batch in another
   * one sized like this batch, so that it rarely has to grow. `release()` (optional) says the
   * rows are no longer referenced anywhere: their buffer may then be reused.
   */
  take(): { data: Buffer; count: number; release: () => void } {
    const whole = this.buf;
    const out = { data: whole.subarray(0, this.len), count: this.lines, release: () => void (FREE.length < FREE_MAX && FREE.push(whole)) };
    const next = Math.min(16 * 1024 * 1024, Math.max(64 * 1024, this.len + (this.len >> 3) + 1024));
    this.buf = recycled(next);
    this.len = 0;
    this.lines = 0;
    return out;
  }

  reset(): void {
    this.len = 0;
    this.lines = 0;
  }
}
