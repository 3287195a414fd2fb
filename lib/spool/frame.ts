/**
 * On-disk framing of one record:
 *
 *   magic u32 | payload length u32 | seq u64 | crc u32 | payload
 *
 * all big-endian. The CRC covers the payload followed by the length and seq fields, so a torn
 * write, a flipped bit in the header or bytes of an older frame are all detected. The magic
 * lets recovery find the next frame after a corrupt one.
 */
import { crc32 } from './crc32';

export const FRAME_MAGIC = 0x5a425350; // 'ZBSP'
export const FRAME_HEADER_BYTES = 20;
const FIELDS_START = 4;
const FIELDS_END = 16;
const TWO_32 = 0x1_0000_0000;

export const MAGIC_BYTES = Buffer.from([0x5a, 0x42, 0x53, 0x50]);

export function frameBytes(payloadBytes: number): number {
  return payloadBytes + FRAME_HEADER_BYTES;
}

/** Frames for the records of one append() call; seqs are stamped later, at commit time. */
export interface EncodedFrames {
  buf: Buffer;
  count: number;
  /** start of each frame in buf */
  starts: Uint32Array;
  /** CRC of each payload alone, computed up front so stamping costs only 12 bytes of CRC */
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
    buf.set(r, pos + FRAME_HEADER_BYTES);
    payloadCrcs[i] = crc32(r);
    pos += frameBytes(r.length);
  }
  return { buf, count: records.length, starts, payloadCrcs };
}

/** Writes seq firstSeq+i and the frame CRC into frame i. */
export function stampFrames(frames: EncodedFrames, firstSeq: number): void {
  const { buf, starts, payloadCrcs } = frames;
  for (let i = 0; i < frames.count; i++) {
    const at = starts[i];
    writeSeq(buf, at + 8, firstSeq + i);
    buf.writeUInt32BE(crc32(buf.subarray(at + FIELDS_START, at + FIELDS_END), payloadCrcs[i]), at + 16);
  }
}

function writeSeq(buf: Buffer, at: number, seq: number): void {
  buf.writeUInt32BE(Math.floor(seq / TWO_32), at);
  buf.writeUInt32BE(seq >>> 0, at + 4);
}

export function readSeq(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

export type FrameCheck =
  | { ok: true; seq: number; payloadBytes: number; end: number }
  | { ok: false; need?: number };

/**
 * Validates the frame that starts at `at` in `buf`. `{ ok: false, need }` means the buffer ends
 * before the frame does (need = bytes required from `at`); `{ ok: false }` alone means it is not
 * a valid frame.
 */
export function checkFrame(buf: Buffer, at: number): FrameCheck {
  if (buf.length - at < FRAME_HEADER_BYTES) return { ok: false, need: FRAME_HEADER_BYTES };
  if (buf.readUInt32BE(at) !== FRAME_MAGIC) return { ok: false };
  const payloadBytes = buf.readUInt32BE(at + 4);
  const end = at + frameBytes(payloadBytes);
  if (end > buf.length) return { ok: false, need: frameBytes(payloadBytes) };
  const payloadCrc = crc32(buf.subarray(at + FRAME_HEADER_BYTES, end));
  const crc = crc32(buf.subarray(at + FIELDS_START, at + FIELDS_END), payloadCrc);
  if (crc !== buf.readUInt32BE(at + 16)) return { ok: false };
  return { ok: true, seq: readSeq(buf, at + 8), payloadBytes, end };
}

/** Payload length announced by the header at `at` (not validated). */
export function announcedPayloadBytes(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at + 4);
}
