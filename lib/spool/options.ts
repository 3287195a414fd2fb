import { MAX_SEGMENT_BYTES, SPOOL_DEFAULTS } from './defaults';
import { frameBytes } from './frame';
import type { OverflowPolicy, SpoolOptions, SpoolRecord } from './types';

export interface ResolvedSpoolOptions {
  maxBytes: number;
  overflow: OverflowPolicy;
  segmentBytes: number;
  fsync: boolean;
  groupCommit: boolean;
  checkpointIntervalMs: number;
  tailCacheBytes: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`spool option ${name} must be a positive number, got ${String(value)}`);
  }
  return Math.floor(value);
}

export function resolveSpoolOptions(opts: SpoolOptions, mode: 'disk' | 'memory'): ResolvedSpoolOptions {
  const overflow = opts.overflow ?? 'block';
  if (overflow !== 'block' && overflow !== 'drop-oldest') {
    throw new RangeError(`spool option overflow must be 'block' or 'drop-oldest', got ${String(overflow)}`);
  }
  const interval = opts.checkpointIntervalMs ?? SPOOL_DEFAULTS.checkpointIntervalMs;
  if (typeof interval !== 'number' || !(interval >= 0)) {
    throw new RangeError(`spool option checkpointIntervalMs must be >= 0, got ${String(interval)}`);
  }
  return {
    maxBytes: positive('maxBytes', opts.maxBytes, mode === 'disk' ? SPOOL_DEFAULTS.diskMaxBytes : SPOOL_DEFAULTS.memoryMaxBytes),
    overflow,
    segmentBytes: Math.min(positive('segmentBytes', opts.segmentBytes, SPOOL_DEFAULTS.segmentBytes), MAX_SEGMENT_BYTES),
    fsync: opts.fsync ?? true,
    groupCommit: opts.groupCommit ?? true,
    checkpointIntervalMs: interval,
    tailCacheBytes: Math.max(0, Math.floor(opts.tailCacheBytes ?? SPOOL_DEFAULTS.tailCacheBytes)) || 0,
  };
}

/** Checks the argument of append(); returns the framed size of the batch. */
export function framedSizeOf(records: unknown): number {
  if (!Array.isArray(records)) throw new TypeError('spool append() takes an array of Buffers');
  let bytes = 0;
  for (const r of records) {
    if (!(r instanceof Uint8Array)) throw new TypeError('spool append() takes an array of Buffers');
    bytes += frameBytes(r.length);
  }
  return bytes;
}

export function checkSeqArgument(name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`spool ${name} must be a number`);
  return Math.floor(value);
}

/** Keeps records while within maxRecords and maxBytes of payload; the first record always fits. */
export function fitsReadLimits(out: SpoolRecord[], outBytes: number, payloadBytes: number, maxRecords: number, maxBytes: number): boolean {
  if (out.length >= maxRecords) return false;
  return out.length === 0 || outBytes + payloadBytes <= maxBytes;
}

/** A deep copy of a JSON object (meta is plain JSON by contract). */
export function copyJsonObject(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

export function checkMetaArgument(meta: unknown): Record<string, unknown> {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new TypeError('spool writeMeta() takes a plain JSON object');
  }
  return copyJsonObject(meta as Record<string, unknown>);
}
