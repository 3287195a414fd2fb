/**
 * Per-stream ingest quotas, as Zerobus sets them: records per second and bytes per second per
 * stream (the defaults are Databricks' published default quotas, docs/DESIGN.md §11.8).
 *
 * Each stream meters its requests with a virtual-scheduling bucket (GCRA): a request costs the
 * time the quota needs for its records or its bytes, whichever is longer; the stream may run
 * ahead of its quota by `burstMs` (a second of quota by default) and no further. How the real
 * service treats a stream beyond its quota is not published; the emulator either holds the
 * request and stores and acknowledges it only when the quota allows it (`slow-acks`, the
 * default: a client with a bounded in-flight window is slowed to the quota) or ends the stream
 * with RESOURCE_EXHAUSTED (`reject`, a retryable code in every client).
 */
import { RecordSpans } from './ingest-decoder';

export type OverQuota = 'slow-acks' | 'reject';

export interface QuotaLimits {
  /** Records per second per stream (Databricks' default: 100,000). */
  recordsPerSecond: number;
  /** Record payload bytes per second per stream (Databricks' default: 100 MB/s). */
  bytesPerSecond: number;
  /** What a stream beyond its quota gets. */
  overQuota: OverQuota;
  /** How far ahead of its quota a stream may run before it is throttled (default 1000 ms). */
  burstMs: number;
}

export const DEFAULT_QUOTA: Readonly<QuotaLimits> = Object.freeze({
  recordsPerSecond: 100_000,
  bytesPerSecond: 100_000_000,
  overQuota: 'slow-acks',
  burstMs: 1000,
});

/** Throttling seen so far: requests over the quota, and wall time they (and so their acks) were held back. */
export interface ThrottleFigures {
  count: number;
  ms: number;
}

export type Admission = { ok: true; holdMs: number } | { ok: false; message: string };

function requirePositive(value: number, what: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a number > 0, got ${String(value)}`);
}

/** Fills in defaults and checks the numbers; throws RangeError on a bad value. */
export function quotaLimits(given: Partial<QuotaLimits> = {}): QuotaLimits {
  const limits = { ...DEFAULT_QUOTA, ...given };
  requirePositive(limits.recordsPerSecond, 'recordsPerSecond');
  requirePositive(limits.bytesPerSecond, 'bytesPerSecond');
  if (!Number.isFinite(limits.burstMs) || limits.burstMs < 0) throw new RangeError(`burstMs must be a number >= 0, got ${String(limits.burstMs)}`);
  if (limits.overQuota !== 'slow-acks' && limits.overQuota !== 'reject') throw new RangeError(`overQuota must be 'slow-acks' or 'reject', got ${String(limits.overQuota)}`);
  return limits;
}

/** The meter of one stream. `sinks` also receive every throttle (e.g. the table's totals). */
export class StreamQuota {
  readonly throttled: ThrottleFigures = { count: 0, ms: 0 };
  /** When the stream's requests so far are paid for by its quota (the GCRA theoretical arrival time). */
  private paidUntil = -Infinity;
  /** Until when acks are already counted as held back, so that overlapping holds count once. */
  private heldUntil = -Infinity;

  constructor(
    readonly limits: QuotaLimits,
    private readonly sinks: ThrottleFigures[] = [],
    private readonly now: () => number = Date.now,
  ) {}

  /** Meters one request: within the quota (hold its ack `holdMs`, 0 when conforming) or rejected. */
  admit(records: number, bytes: number): Admission {
    const { recordsPerSecond, bytesPerSecond, burstMs, overQuota } = this.limits;
    const t = this.now();
    const costMs = Math.max((records * 1000) / recordsPerSecond, (bytes * 1000) / bytesPerSecond);
    const paidUntil = Math.max(this.paidUntil, t) + costMs;
    const holdMs = paidUntil - burstMs - t;
    if (holdMs <= 0) {
      this.paidUntil = paidUntil;
      return { ok: true, holdMs: 0 };
    }
    if (overQuota === 'reject') {
      this.count(0);
      return {
        ok: false,
        message: `stream quota exceeded (${recordsPerSecond} records/s, ${bytesPerSecond} bytes/s per stream): retry in ${Math.ceil(holdMs)} ms`,
      };
    }
    this.paidUntil = paidUntil;
    const releaseAt = t + holdMs;
    this.count(Math.max(0, releaseAt - Math.max(this.heldUntil, t)));
    this.heldUntil = Math.max(this.heldUntil, releaseAt);
    return { ok: true, holdMs };
  }

  private count(ms: number): void {
    for (const f of [this.throttled, ...this.sinks]) {
      f.count++;
      f.ms += ms;
    }
  }
}

/** The quota in words, for the start banner and the web page. */
export function describeQuota(q: QuotaLimits | null | undefined): string {
  if (!q) return 'none';
  const beyond = q.overQuota === 'reject' ? 'RESOURCE_EXHAUSTED beyond it' : 'acks slowed beyond it';
  return `${q.recordsPerSecond} records/s and ${q.bytesPerSecond} bytes/s per stream, ${beyond}`;
}

/** Payload bytes of a request's records, as the per-stream byte quota counts them. */
export function recordBytes(records: (string | Uint8Array)[] | RecordSpans): number {
  if (records instanceof RecordSpans) return records.payloadBytes();
  let bytes = 0;
  for (const r of records) bytes += typeof r === 'string' ? Buffer.byteLength(r) : r.length;
  return bytes;
}
