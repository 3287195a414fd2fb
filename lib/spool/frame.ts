/**
 * On-disk framing of one record:
 *
 *   magic u32 | payload length u32 | payload | seq u64 | crc u32
 *
 * all big-endian. The CRC covers the payload and the seq after it: one contiguous range, so
 * checking a frame is a single CRC call, and the payload's CRC can be computed when append() is
 * called while the seq is stamped only at commit time. A wrong length moves the seq and CRC
 * to the wrong place, so it fails the check too. The magic lets recovery find the next frame
 * after a corrupt one.
 */
import { crc32, crc32Range } from './crc32';

export const FRAME_MAGIC = 0x5a425350; // 'ZBSP'
export const MAGIC_BYTES = Buffer.from([0x5a, 0x42, 0x53, 0x50]);
/** bytes of framing around each payload */
export const FRAME_OVERHEAD_BYTES = 20;
/** magic and length: enough to know how long the frame is */
export const FRAME_PREFIX_BYTES = 8;
const TWO_32 = 0x1_0000_0000;

export function frameBytes(payloadBytes: number): number {
  return payloadBytes + FRAME_OVERHEAD_BYTES;
}

/** Frames for the records of one append() call; seqs are stamped later, at commit time. */
export interface EncodedFrames {
  buf: Buffer;
  count: number;
  /** start of each frame in buf */
  starts: Uint32Array;
  /** CRC of each payload alone, computed up front so stamping costs only 8 bytes of CRC */
  payloadCrcs: Uint32Array;
}

export function encodeFrames(records: readonly Uint8Array[]): EncodedFrames {
  let total = 0;
  for (const r of records) total += frameBytes(r.length);
  const buf = Buffer.allocUnsafe(total);
  const starts = new Uint32Array(records.length);
  const payloadCrcs = new Uint32Array(records.length);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    starts[i] = pos;
    buf.writeUInt32BE(FRAME_MAGIC, pos);
    buf.writeUInt32BE(r.length, pos + 4);
    buf.set(r, pos + FRAME_PREFIX_BYTES);
    payloadCrcs[i] = crc32(r);
    pos += frameBytes(r.length);
  }
  return { buf, count: records.length, starts, payloadCrcs };
}

/** Writes seq firstSeq+i and the CRC into frame i. */
export function stampFrames(frames: EncodedFrames, firstSeq: number): void {
  const { buf, starts, payloadCrcs } = frames;
  for (let i = 0; i < frames.count; i++) {
    const seqAt = starts[i] + FRAME_PREFIX_BYTES + buf.readUInt32BE(starts[i] + 4);
    const seq = firstSeq + i;
    buf.writeUInt32BE(Math.floor(seq / TWO_32), seqAt);
    buf.writeUInt32BE(seq >>> 0, seqAt + 4);
    buf.writeUInt32BE(crc32Range(buf, seqAt, seqAt + 8, payloadCrcs[i]), seqAt + 8);
  }
}

export type FrameCheck =
  | { ok: true; seq: number; payloadStart: number; payloadEnd: number; end: number }
  | { ok: false; need?: number };

/**
 * Validates the frame that starts at `at` in `buf` (positions returned are in `buf`).
 * `{ ok: false, need }` means the buffer ends before the frame does (need = bytes required from
 * `at`); `{ ok: false }` alone means it is not a valid frame.
 */
export function checkFrame(buf: Buffer, at: number): FrameCheck {
  if (buf.length - at < FRAME_PREFIX_BYTES) return { ok: false, need: FRAME_PREFIX_BYTES };
  if (buf.readUInt32BE(at) !== FRAME_MAGIC) return { ok: false };
  const payloadBytes = buf.readUInt32BE(at + 4);
  const end = at + frameBytes(payloadBytes);
  if (end > buf.length) return { ok: false, need: frameBytes(payloadBytes) };
  const payloadStart = at + FRAME_PREFIX_BYTES;
  const payloadEnd = payloadStart + payloadBytes;
  if (crc32Range(buf, payloadStart, payloadEnd + 8) !== buf.readUInt32BE(payloadEnd + 8)) return { ok: false };
  const seq = buf.readUInt32BE(payloadEnd) * TWO_32 + buf.readUInt32BE(payloadEnd + 4);
  return { ok: true, seq, payloadStart, payloadEnd, end };
}
