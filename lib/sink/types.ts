/** Shapes the sink reports to its owner (the zerobus-out node, a bench, a test). */
import type { StreamState } from '../zerobus';

export type SinkStateName = 'starting' | 'connecting' | 'streaming' | 'reconnecting' | 'failed' | 'closing' | 'closed';

/** Why the sink is not streaming: a lib error code (e.g. PERMISSION_DENIED) and words for a user. */
export interface SinkFailure {
  code: string;
  message: string;
  /** what the user should do; never contains secrets */
  hint?: string;
  retryable: boolean;
}

export interface SinkStatus {
  state: SinkStateName;
  /** reconnecting / failed: when the next attempt starts */
  retryInMs?: number;
  /** failed: the time (ms since epoch) of the next attempt */
  retryAt?: number;
  error?: SinkFailure;
}

/** One acknowledgement: `acknowledged` records up to spool sequence `offset` are durable in Zerobus. */
export interface SinkReceipt {
  acknowledged: number;
  offset: number;
  latencyMs: number;
  backlog: number;
}

export interface RejectedRecord {
  /** position of the item in the accept() call */
  index: number;
  reason: string;
}

export interface AcceptResult {
  /** records now in the spool (disk: durable; memory: acknowledged by Zerobus) */
  accepted: number;
  /** records that can never be accepted by the table; they were not spooled */
  rejected: RejectedRecord[];
  firstSeq?: number;
  lastSeq?: number;
}

export interface SinkStats {
  state: SinkStateName;
  table: string;
  /** records accepted into the spool since start */
  recordsIn: number;
  /** records acknowledged by Zerobus since start */
  recordsOut: number;
  rateIn: number;
  rateOut: number;
  backlog: number;
  backlogBytes: number;
  inFlight: number;
  latencyMs: { p50: number; p99: number; max: number };
  reconnects: number;
  /** records the spool discarded (overflow drop-oldest) */
  dropped: number;
  /** records refused because they can never fit the table */
  rejected: number;
  spoolMode: 'disk' | 'memory';
  lastError?: SinkFailure;
  /** one entry per stream the sink runs now, by index */
  streams: SinkStreamStats[];
  /** the `streams` option: a fixed count or 'auto' */
  streamsMode: number | 'auto';
  /** 'auto': the most streams it opens (a fixed count: that count) */
  maxStreams: number;
}

/** One of the sink's streams to its table. */
export interface SinkStreamStats {
  /** 0-based */
  index: number;
  state: StreamState;
  /** records sent on it and not yet acknowledged */
  inFlight: number;
  /** records it got acknowledged since it opened */
  recordsOut: number;
  /** acknowledged records per second (5 s window) */
  rateOut: number;
  reconnects: number;
  /** 'auto' is closing it: it finishes the records it owns, then closes */
  retiring: boolean;
}
