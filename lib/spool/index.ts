export { createSpool } from './create-spool';
export { DiskSpool } from './disk-spool';
export { MemorySpool } from './memory-spool';
export {
  SpoolClosedError,
  SpoolFullError,
  SpoolLockedError,
  SpoolDiskFullError,
  type SpoolLockOwner,
  type AppendResult,
  type OverflowPolicy,
  type Spool,
  type SpoolDropEvent,
  type SpoolOpenResult,
  type SpoolOptions,
  type SpoolRecord,
  type SpoolStats,
} from './types';
export { SPOOL_DEFAULTS } from './defaults';
export { nodeSpoolFs, type SpoolFile, type SpoolFs } from './spool-fs';
export { FRAME_OVERHEAD_BYTES } from './frame';
