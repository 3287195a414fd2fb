/**
 * The growth step shared by the writers that build requests and stored rows in one buffer:
 * doubling keeps the copies amortised to O(1) per byte, and allocUnsafe skips zero-filling
 * bytes that are about to be written.
 */
export function grownBuffer(buf: Buffer, used: number, needed: number): Buffer {
  if (used + needed <= buf.length) return buf;
  let size = buf.length * 2;
  while (size < used + needed) size *= 2;
  const next = Buffer.allocUnsafe(size);
  buf.copy(next, 0, 0, used);
  return next;
}
