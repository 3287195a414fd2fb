/**
 * Reading the log: readFrom() plans each read from the segment index alone and reads it with
 * one call, CRC-checking every frame that comes from disk; the tail cache serves the latest
 * committed writes from memory.
 */
import { checkFrame, FRAME_PREFIX_BYTES } from './frame';
import { fitsReadLimits } from './options';
import { readFully } from './spool-fs';
import type { SpoolSegment } from './spool-segment';
import { SpoolRetention } from './spool-retention';
import type { SpoolRecord } from './types';

export abstract class SpoolReader extends SpoolRetention {
  protected async readFrom(from: number, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    const out: SpoolRecord[] = [];
    let outBytes = 0;
    const k = this.segments.findIndex((s) => s.index.count > 0 && s.index.lastSeq >= from);
    if (k < 0) return out;
    // Hold every segment we may read, so an ack retiring one meanwhile keeps its file open.
    const held = this.segments.slice(k);
    held.forEach((s) => s.acquire());
    try {
      for (const seg of held) {
        const { index } = seg;
        const count = index.count;
        const first = index.lowerBound(from);
        if (first >= count) continue;
        // choose the records to read from the index alone, then read them with one call
        let end = first;
        let planned = outBytes;
        while (end < count && out.length + (end - first) < maxRecords) {
          const approx = seg.approxPayloadBytes(end);
          if (out.length + (end - first) > 0 && planned + approx > maxBytes) break;
          planned += approx;
          end++;
        }
        if (end === first) break;
        const start = index.offsetAt(first);
        const length = seg.frameLimit(end - 1) - start;
        const cached = this.cachedRange(seg, start, length);
        const buf = cached ?? (await readFully(seg.file, length, start));
        let full = false;
        for (let i = first; i < end; i++) {
          const at = index.offsetAt(i) - start;
          let payloadStart: number;
          let payloadEnd: number;
          if (cached) {
            // our own committed bytes: the index says where each frame starts
            payloadStart = at + FRAME_PREFIX_BYTES;
            payloadEnd = payloadStart + buf.readUInt32BE(at + 4);
          } else {
            const check = checkFrame(buf, at);
            if (!check.ok || check.seq !== index.seqAt(i)) {
              this.corruptRecords++; // damaged on disk since it was written: nothing can bring it back
              continue;
            }
            payloadStart = check.payloadStart;
            payloadEnd = check.payloadEnd;
          }
          if (!fitsReadLimits(out, outBytes, payloadEnd - payloadStart, maxRecords, maxBytes)) {
            full = true;
            break;
          }
          out.push({ seq: index.seqAt(i), data: buf.subarray(payloadStart, payloadEnd) });
          outBytes += payloadEnd - payloadStart;
        }
        if (full || end < count || out.length >= maxRecords) break;
        from = index.lastSeq + 1;
      }
    } finally {
      held.forEach((s) => s.release());
    }
    if (out.length > 0) this.readFront = Math.max(this.readFront, out[out.length - 1].seq);
    return out;
  }

  // ---- the tail cache ----

  protected cacheWrite(segment: SpoolSegment, at: number, firstSeq: number, buf: Buffer): void {
    const limit = this.o.tailCacheBytes;
    // paused, the cache resumes once the sender has reached the write before this one
    const oldest = this.tail.length > 0 ? this.tail[0].firstSeq : this.latestWriteSeq;
    this.latestWriteSeq = firstSeq;
    if (buf.length > limit) return;
    if (this.readFront + 1 < oldest) {
      // the sender is behind everything cached: pause until it catches up (see CachedWrite)
      this.tail = [];
      this.tailBytes = 0;
      return;
    }
    this.tail.push({ segment, at, firstSeq, buf });
    this.tailBytes += buf.length;
    while (this.tailBytes > limit) this.tailBytes -= this.tail.shift()!.buf.length;
  }

  /** Bytes [start, start+length) of `seg` from the cache (a view, or a copy when they span writes), else undefined. */
  protected cachedRange(seg: SpoolSegment, start: number, length: number): Buffer | undefined {
    const tail = this.tail;
    let k = tail.length - 1;
    // the newest write of this segment that begins at or before `start`
    while (k >= 0 && !(tail[k].segment === seg && tail[k].at <= start)) k--;
    if (k < 0) return undefined;
    const first = tail[k];
    const end = start + length;
    if (start >= first.at + first.buf.length) return undefined;
    if (end <= first.at + first.buf.length) return first.buf.subarray(start - first.at, end - first.at);
    const parts: Buffer[] = [first.buf.subarray(start - first.at)];
    let covered = first.at + first.buf.length;
    for (let j = k + 1; j < tail.length && covered < end; j++) {
      const w = tail[j];
      if (w.segment !== seg || w.at !== covered) return undefined;
      parts.push(w.buf.subarray(0, Math.min(w.buf.length, end - w.at)));
      covered = w.at + w.buf.length;
    }
    return covered >= end ? Buffer.concat(parts, length) : undefined;
  }
}
