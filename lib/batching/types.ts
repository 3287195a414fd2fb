/** Public data shapes of the TagBatcher. */
import type { TicketCounts } from '../delivery/tickets';
import type { RuleStats } from './compression-rules';

/** Why a batch left: size reached, byte budget reached, interval elapsed, explicit flush, close. */
export type FlushReason = 'size' | 'bytes' | 'interval' | 'flush' | 'close';

export interface Batch<O = unknown> {
  /** the tag events, in the order they left the filters */
  events: unknown[];
  /** merged delivery tickets of those events (undefined when none carried any) */
  tickets: TicketCounts | undefined;
  reason: FlushReason;
  /** approximate JSON bytes (0 when maxBytes is off: sizes are not measured then) */
  bytes: number;
  /** the `origin` given with the input that contributed the batch's first event */
  origin: O | undefined;
}

export interface PushMeta<O = unknown> {
  /** the input message's delivery tickets (msg._zerobusTickets) */
  tickets?: TicketCounts;
  /** called once, when every event of this input has left (emitted, filtered, reset or abandoned) */
  onLeft?: () => void;
  /** caller context reported back on batches (the node keeps msg.topic here) */
  origin?: O;
}

export type PushResult =
  | { accepted: true; events: number }
  | { accepted: false; reason: 'full' | 'closed'; buffered: number; maxBuffered: number };

export interface FilterCounters {
  /** events that reached the filter */
  in: number;
  /** events that passed it (for the swinging door: archived points) */
  out: number;
}

export interface BatcherStats {
  /** events received (accepted pushes) */
  in: number;
  /** events emitted in batches */
  out: number;
  /** events without tagPath (or historical) that skipped the filters */
  passThrough: number;
  /** events dropped by a filter (settled as delivered) */
  filtered: number;
  batches: number;
  /** events waiting in the output buffer */
  buffered: number;
  /** events held by a filter: debounce windows and swinging-door snapshots */
  held: number;
  /** tags with per-tag state */
  tags: number;
  evictedTags: number;
  /** events refused because the output buffer was full while the downstream was blocked */
  refused: number;
  /** events dropped by reset() */
  resetDropped: number;
  /** the downstream was blocked at the last attempt to emit */
  blocked: boolean;
  filters: {
    debounce: FilterCounters;
    deadband: FilterCounters;
    repeats: FilterCounters;
    swingingDoor: FilterCounters;
    minInterval: FilterCounters;
  };
  /** per compression rule, in order, the default rule last: what each one reduced */
  rules: RuleStats[];
}

export interface BatcherHandlers<O = unknown> {
  onBatch: (batch: Batch<O>) => void;
  /** an exception thrown by onBatch or onLeft (the batcher carries on) */
  onError?: (err: unknown) => void;
}
