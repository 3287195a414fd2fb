/** Options of the TagBatcher, their defaults and their validation (one home for each default). */
import type { DeliveryTracker } from '../delivery/tickets';
import type { CompressionRule } from './compression-rules';

export interface BatcherTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BatcherOptions {
  /** events per emitted batch (flush when reached) */
  size: number;
  /** flush this long after the first event entered the output buffer; 0 = no time trigger */
  intervalMs: number;
  /** flush before the approximate JSON size of a batch would exceed this; 0/undefined = off */
  maxBytes?: number;
  /** per tag: keep only the newest value within the window, emitted at the window's end; 0 = off */
  debounceMs?: number;
  /** absolute deadband: a numeric change must be larger than this to pass; 0 = off */
  deadband?: number;
  /** percent deadband, relative to the last value that passed; 0 = off */
  deadbandPercent?: number;
  /** drop a value equal (value and quality) to the last one that passed */
  dropRepeats?: boolean;
  /** swinging-door compression; maxIntervalMs forces an archive point at least this often */
  swingingDoor?: { deviation: number; maxIntervalMs?: number };
  /** per-tag rules, first match wins; the four options above are the default rule */
  rules?: CompressionRule[];
  /** per-tag state cap; the least recently seen tag is evicted (its held values emitted) */
  maxTags?: number;
  /** events the output buffer may hold while the downstream is blocked; more input is refused */
  maxBuffered?: number;
  /** the downstream cannot accept now: hold batches (up to maxBuffered) instead of emitting */
  isBlocked?: () => boolean;
  /** how often to look again when the downstream was blocked (ms) */
  blockedRetryMs?: number;
  /** where filtered-out events settle their delivery tickets (default: the process tracker) */
  tracker?: Pick<DeliveryTracker, 'settle'>;
  now?: () => number;
  timers?: BatcherTimers;
}

export const BATCH_DEFAULTS = {
  size: 500,
  intervalMs: 500,
  maxBytes: 1_000_000,
  maxTags: 100_000,
  maxBuffered: 100_000,
  blockedRetryMs: 250,
  compMaxIntervalMs: 10_000,
} as const;

export interface ResolvedBatcherOptions {
  size: number;
  intervalMs: number;
  maxBytes: number;
  debounceMs: number;
  deadband: number;
  deadbandPercent: number;
  dropRepeats: boolean;
  swingingDoor: { deviation: number; maxIntervalMs: number } | undefined;
  maxTags: number;
  maxBuffered: number;
  blockedRetryMs: number;
}

export class BatcherOptionsError extends Error {
  constructor(readonly option: string, message: string) {
    super(message);
    this.name = 'BatcherOptionsError';
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new BatcherOptionsError(name, `${name} must be a number >= 0 (got ${String(value)})`);
  }
  return v;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new BatcherOptionsError(name, `${name} must be an integer >= 1 (got ${String(value)})`);
  }
  return v;
}

/** Validates and completes the options; throws BatcherOptionsError naming the bad option. */
export function resolveBatcherOptions(opts: BatcherOptions): ResolvedBatcherOptions {
  const size = positiveInteger('size', opts.size, BATCH_DEFAULTS.size);
  const sd = opts.swingingDoor;
  return {
    size,
    intervalMs: nonNegative('intervalMs', opts.intervalMs, BATCH_DEFAULTS.intervalMs),
    maxBytes: nonNegative('maxBytes', opts.maxBytes, 0),
    debounceMs: nonNegative('debounceMs', opts.debounceMs, 0),
    deadband: nonNegative('deadband', opts.deadband, 0),
    deadbandPercent: nonNegative('deadbandPercent', opts.deadbandPercent, 0),
    dropRepeats: opts.dropRepeats === true,
    swingingDoor: sd
      ? {
          deviation: nonNegative('swingingDoor.deviation', sd.deviation, 0),
          maxIntervalMs: nonNegative('swingingDoor.maxIntervalMs', sd.maxIntervalMs, 0),
        }
      : undefined,
    maxTags: positiveInteger('maxTags', opts.maxTags, BATCH_DEFAULTS.maxTags),
    // a full batch must always fit, or a blocked downstream could never be fed again
    maxBuffered: Math.max(size, positiveInteger('maxBuffered', opts.maxBuffered, BATCH_DEFAULTS.maxBuffered)),
    blockedRetryMs: positiveInteger('blockedRetryMs', opts.blockedRetryMs, BATCH_DEFAULTS.blockedRetryMs),
  };
}
