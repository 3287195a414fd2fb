/**
 * Recovery of one segment file: walks its frames, validating each, and builds the record index.
 * A frame that fails validation is skipped by searching for the next valid frame (the magic
 * followed by a frame whose CRC and seq check out), so one corrupt record does not lose the good
 * ones after it. Whatever follows the last valid frame is a torn or garbage tail.
 */
import { FileWindow } from './file-window';
import { checkFrame, FRAME_PREFIX_BYTES, MAGIC_BYTES } from './frame';
import { readFully } from './spool-fs';

/** Frames longer than this have their seq checked before their payload is read. */
const LARGE_FRAME_BYTES = 1024 * 1024;
import { RecordIndex } from './record-index';
import type { SpoolFile } from './spool-fs';

export interface ScanBounds {
  /** every valid seq is greater than this (the previous segment's last seq) */
  afterSeq: number;
  /** and below this (the next segment's base seq); frames outside are stale bytes */
  beforeSeq: number;
}

export interface ScanResult {
  index: RecordIndex;
  /** end of the last valid frame: the file is cut here */
  validEnd: number;
  /** corrupt regions skipped before a later valid frame */
  corruptRegions: number;
}

export async function scanSegment(file: SpoolFile, size: number, bounds: ScanBounds): Promise<ScanResult> {
  const window = new FileWindow(file, size);
  const index = new RecordIndex();
  let lastSeq = bounds.afterSeq;

  /** end of the valid frame at pos, or -1 */
  const frameEndAt = async (pos: number): Promise<{ seq: number; end: number } | undefined> => {
    let { buf, at } = await window.view(pos, FRAME_PREFIX_BYTES);
    let check = checkFrame(buf, at);
    if (!check.ok && check.need !== undefined) {
      if (pos + check.need > size) return undefined;
      // a corrupt length can announce hundreds of MB: look at the seq behind it before reading them
      if (check.need > LARGE_FRAME_BYTES && !(await plausibleSeqAt(pos + check.need - 12))) return undefined;
      ({ buf, at } = await window.view(pos, check.need));
      check = checkFrame(buf, at);
    }
    if (!check.ok || check.seq <= lastSeq || check.seq >= bounds.beforeSeq) return undefined;
    return { seq: check.seq, end: pos + (check.end - at) };
  };

  const plausibleSeqAt = async (seqPos: number): Promise<boolean> => {
    const trailer = await readFully(file, 8, seqPos);
    if (trailer.length < 8) return false;
    const seq = trailer.readUInt32BE(0) * 0x1_0000_0000 + trailer.readUInt32BE(4);
    return seq > lastSeq && seq < bounds.beforeSeq;
  };

  const nextValidFrom = async (from: number): Promise<number> => {
    let pos = from;
    while (pos + FRAME_PREFIX_BYTES <= size) {
      const { buf, at } = await window.view(pos, FRAME_PREFIX_BYTES);
      const hit = buf.indexOf(MAGIC_BYTES, at);
      if (hit < 0) {
        // a magic split across windows is found by overlapping the next window
        pos = Math.max(pos + 1, pos + (buf.length - at) - (MAGIC_BYTES.length - 1));
        continue;
      }
      const candidate = pos + (hit - at);
      if (await frameEndAt(candidate)) return candidate;
      pos = candidate + 1;
    }
    return -1;
  };

  let pos = 0;
  let validEnd = 0;
  let corruptRegions = 0;
  while (pos < size) {
    const frame = await frameEndAt(pos);
    if (frame) {
      index.add(frame.seq, pos);
      lastSeq = frame.seq;
      pos = frame.end;
      validEnd = pos;
      continue;
    }
    const next = await nextValidFrom(pos + 1);
    if (next < 0) break;
    corruptRegions++;
    pos = next;
  }
  return { index, validEnd, corruptRegions };
}
