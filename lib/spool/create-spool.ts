import { DiskSpool } from './disk-spool';
import { MemorySpool } from './memory-spool';
import type { Spool, SpoolOptions } from './types';

/** A disk spool when `dir` is set, else a memory spool. Call open() before anything else. */
export function createSpool(opts: SpoolOptions): Spool {
  return opts.dir ? new DiskSpool(opts.dir, opts) : new MemorySpool(opts);
}
