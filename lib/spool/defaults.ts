const MiB = 1024 * 1024;

export const SPOOL_DEFAULTS = {
  diskMaxBytes: 1024 * MiB,
  memoryMaxBytes: 64 * MiB,
  segmentBytes: 16 * MiB,
  checkpointIntervalMs: 100,
  tailCacheBytes: 8 * MiB,
} as const;

/** Offsets in a segment index are 32-bit; one segment never grows past this. */
export const MAX_SEGMENT_BYTES = 1024 * MiB;
