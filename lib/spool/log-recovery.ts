/**
 * Opening an existing spool directory: every segment file is scanned and validated, torn or
 * garbage tails are cut off (and made durable), empty segments and temp files left by an
 * interrupted operation are removed.
 */
import * as path from 'path';
import { scanSegment } from './segment-scanner';
import type { SpoolFs } from './spool-fs';
import { SpoolSegment } from './spool-segment';

export interface RecoveredLog {
  /** oldest first, files open */
  segments: SpoolSegment[];
  /** highest seq found, 0 when none */
  lastSeq: number;
  truncatedBytes: number;
  corruptRegions: number;
}

export async function recoverLog(fs: SpoolFs, dir: string, fsync: boolean): Promise<RecoveredLog> {
  const names = await fs.readdir(dir);
  for (const name of names) if (name.endsWith('.tmp')) await fs.unlink(path.join(dir, name));
  const bases = names
    .map((n) => SpoolSegment.parseFileName(n))
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => a - b);

  const log: RecoveredLog = { segments: [], lastSeq: 0, truncatedBytes: 0, corruptRegions: 0 };
  try {
    for (let k = 0; k < bases.length; k++) {
      const base = bases[k];
      const segmentPath = SpoolSegment.pathFor(dir, base);
      const file = await fs.open(segmentPath, 'existing');
      let kept = false;
      try {
        const size = await file.size();
        // a frame belongs here only if its seq is above everything before and below the next file's name
        const scan = await scanSegment(file, size, {
          afterSeq: Math.max(log.lastSeq, base - 1),
          beforeSeq: k + 1 < bases.length ? bases[k + 1] : Number.POSITIVE_INFINITY,
        });
        log.corruptRegions += scan.corruptRegions;
        if (scan.validEnd < size) {
          await file.truncate(scan.validEnd);
          if (fsync) await file.datasync();
          log.truncatedBytes += size - scan.validEnd;
        }
        if (scan.index.count > 0) {
          scan.index.compact();
          log.segments.push(new SpoolSegment(base, segmentPath, file, scan.validEnd, scan.index));
          log.lastSeq = scan.index.lastSeq;
          kept = true;
        }
      } finally {
        if (!kept) await file.close();
      }
      if (!kept) await fs.unlink(segmentPath);
    }
  } catch (err) {
    await Promise.allSettled(log.segments.map((s) => s.close()));
    throw err;
  }
  return log;
}
