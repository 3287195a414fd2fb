/** Shapes the sink reports to its owner (the zerobus-out node, a bench, a test). */

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
}
