/**
 * The tag batcher's state: the first of the layers that make up TagBatcher (see
 * tag-batcher.ts). Layers are subclasses rather than separate objects so that the per-event
 * paths reach this state as plain fields, without indirection. Here too: how an event leaves
 * the batcher's hands (tickets of a dropped event settled, the input's onLeft once all its
 * events left).
 */
import { deliveryTracker } from '../delivery/tickets';
import { DeadlineQueue } from './deadline-queue';
import { settleShare, type TicketShare } from './item-tickets';
import { resolveBatcherOptions, type BatcherOptions, type BatcherTimers, type ResolvedBatcherOptions } from './options';
import type { DoorOutcome, DoorPoint } from './swinging-door';
import { CompressionRules } from './compression-rules';
import type { TagState } from './tag-state';
import type { BatcherHandlers } from './types';

export interface Parcel<O> {
  remaining: number;
  onLeft: (() => void) | undefined;
  origin: O | undefined;
}

export interface Item<O> {
  event: unknown;
  share: TicketShare;
  parcel: Parcel<O> | undefined;
  bytes: number;
}

export type State<O> = TagState<Item<O>>;

const defaultTimers: BatcherTimers = {
  // looked up at call time so that fake timers installed after construction still apply
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export abstract class BatcherState<O> {
  readonly options: ResolvedBatcherOptions;
  protected readonly now: () => number;
  protected readonly timers: BatcherTimers;
  protected readonly isBlocked: (() => boolean) | undefined;
  protected readonly tracker: NonNullable<BatcherOptions['tracker']>;
  protected readonly perTag: boolean;
  protected readonly rules: CompressionRules;

  protected out: Item<O>[] = [];
  protected outHead = 0;
  protected outBytes = 0;
  protected firstBufferedAt: number | undefined;
  protected retryAt: number | undefined;
  protected blocked = false;

  protected readonly tags = new Map<string, State<O>>();
  protected readonly debounceQueue = new DeadlineQueue<State<O>>();
  protected readonly holdQueue = new DeadlineQueue<State<O>>();
  protected held = 0;
  protected accessSeq = 0;

  protected timer: unknown;
  protected armedAt = Infinity;
  protected closed = false;
  protected readonly doorOut: DoorOutcome<Item<O>> = { archive: [], discard: [] };
  protected readonly doorPoint: DoorPoint = { t: 0, v: undefined, cls: '' };

  protected readonly counters = {
    in: 0, out: 0, passThrough: 0, filtered: 0, batches: 0, evictedTags: 0, refused: 0, resetDropped: 0,
    debounce: { in: 0, out: 0 }, deadband: { in: 0, out: 0 }, repeats: { in: 0, out: 0 }, swingingDoor: { in: 0, out: 0 }, minInterval: { in: 0, out: 0 },
  };

  constructor(options: BatcherOptions, protected readonly handlers: BatcherHandlers<O>) {
    this.options = resolveBatcherOptions(options);
    this.now = options.now ?? (() => Date.now());
    this.timers = options.timers ?? defaultTimers;
    this.isBlocked = options.isBlocked;
    this.tracker = options.tracker ?? deliveryTracker;
    const o = this.options;
    this.rules = new CompressionRules(options.rules, o);
    this.perTag = o.debounceMs > 0 || this.rules.active;
  }

  /** Takes one tag event or an array of them. Refused input is left untouched (tickets open). */
  protected drop(item: Item<O>): void {
    this.counters.filtered++;
    settleShare(this.tracker, item.share);
    this.leave(item);
  }

  protected leave(item: Item<O>): void {
    const parcel = item.parcel;
    if (parcel && --parcel.remaining === 0) this.callLeft(parcel.onLeft);
  }

  protected callLeft(onLeft: (() => void) | undefined): void {
    if (!onLeft) return;
    try {
      onLeft();
    } catch (err) {
      this.handlers.onError?.(err);
    }
  }
}
