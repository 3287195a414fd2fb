/**
 * Protobuf varints of non-negative integers below 2^53 (lengths, offsets, tags, uint32 and
 * non-negative int64 values): the one writer behind the hand-written encoders — the client's
 * requests (lib/zerobus/wire.ts), the OT event row (lib/tags/row-codec.ts) and compiled table
 * rows (lib/schema/proto-writer.ts). Negative values (64-bit two's complement) stay with the
 * encoders that write them. readVarint is the one reader, for the wire checks and for the
 * partition key of a spooled record (lib/sink/partition-key.ts).
 */

/** Bytes of the varint of n. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  let v = Math.floor(n / 0x800000000);
  while (v > 0) {
    size++;
    v = Math.floor(v / 128);
  }
  return size;
}

/** Writes the varint of n at pos (room already there); returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  // above 2^31 the shift operators would wrap: divide instead (`& 0x7f` still reads the low bits)
  while (n > 0x7fffffff) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = (n - (n & 0x7f)) / 128;
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** The varint at pos (before `end`): its value and the position after it; null when cut short or longer than 10 bytes. */
export function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return null;
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return [value, pos];
  }
  return null;
}
