import type { ZerobusClient, StreamOptions } from '../zerobus';
import type { SpoolOptions } from '../spool';
import { MAX_SENT_MESSAGE_BYTES } from '../zerobus/protocol';
import { STREAM_DEFAULTS } from '../zerobus/types';
import type { AutoscaleOptions } from './stream-autoscaler';

export type SinkFormat = 'ot-event' | 'rows';
export type SinkRecordType = 'proto' | 'json';

export interface ZerobusSinkOptions {
  /** A client shared with others (e.g. owned by a zerobus-config node): never closed by the sink. */
  client?: ZerobusClient;
  /** Or a factory for a client the sink owns and closes with itself. */
  clientFactory?: () => ZerobusClient;
  /** catalog.schema.table */
  table: string;
  /** 'ot-event' (default): items are tag events mapped to the docs/DESIGN.md §5 row; 'rows': items are table rows. */
  format?: SinkFormat;
  /** default 'proto' */
  recordType?: SinkRecordType;
  /** Text of the source_system column when an event has none (ot-event format). */
  sourceSystem?: string;
  /** CREATE TABLE text of the target table: required for rows + proto, optional for rows + json. */
  schemaSql?: string;
  /** Where accepted records wait for their acknowledgement: `dir` set ⇒ disk, else memory. */
  spool?: SpoolOptions;
  /**
   * Zerobus streams to the table (1..16, default 1), or 'auto': one, and another while the
   * streams are at their quota and the backlog grows, up to maxStreams. Each tag's records
   * (format rows: each value of partitionColumn) always share a stream, so their order holds.
   */
  streams?: number | 'auto';
  /** 'auto': the most streams it opens (default 4, at most 16). */
  maxStreams?: number;
  /** format 'rows': the column whose value picks the stream; none: round robin (no order between rows). */
  partitionColumn?: string;
  /** 'auto': how fast it decides (stream-autoscaler.ts; defaults suit a real quota, tests go faster). */
  autoscale?: Partial<Pick<AutoscaleOptions, 'growFor' | 'idleFor' | 'settle' | 'drainWithin'>> & { intervalMs?: number };
  /** Records handed to each stream and not yet acknowledged (default 50,000). */
  maxInflightRecords?: number;
  /** Records per ingest request (default 1,000). */
  maxBatchRecords?: number;
  /** Bytes per ingest request (default 4 MiB, at most 10 MB); a larger record can never be sent. */
  maxBatchBytes?: number;
  /** Backoff of the client's automatic recovery from retryable failures. */
  backoff?: StreamOptions['backoff'];
  ackTimeoutMs?: number;
  createTimeoutMs?: number;
  /** After a final error (bad credentials, missing grant, ...), try a new stream this often (default 60 s). */
  failedRetryMs?: number;
  /** Clock (ms since epoch), for tests. */
  now?: () => number;
}

export const SINK_DEFAULTS = {
  format: 'ot-event' as SinkFormat,
  recordType: 'proto' as SinkRecordType,
  // the client's defaults: a sink streams as a plain client would
  maxInflightRecords: STREAM_DEFAULTS.maxInflightRecords,
  maxBatchRecords: 1_000,
  maxBatchBytes: STREAM_DEFAULTS.maxRequestBytes,
  failedRetryMs: 60_000,
  streams: 1,
  maxStreams: 4,
};

/** The most streams one sink opens to its table. */
export const MAX_STREAMS = 16;

/** Margin kept below Zerobus's per-message limit (docs/DESIGN.md, zerobus-out's `batchBytes`). */
const REQUEST_HEADROOM_BYTES = 64 * 1024;

/** The largest ingest request the sink builds: Zerobus's per-message limit less the margin. */
export const MAX_REQUEST_BYTES = MAX_SENT_MESSAGE_BYTES - REQUEST_HEADROOM_BYTES;

/** A stream count within 1..MAX_STREAMS (the default for what is no number). */
export function streamCount(n: number): number {
  return Number.isFinite(n) ? Math.min(MAX_STREAMS, Math.max(1, Math.round(n))) : SINK_DEFAULTS.streams;
}
