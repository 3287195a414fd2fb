/**
 * The output buffer: events that passed the filters wait here until `size` events, the
 * `maxBytes` budget or `intervalMs` after the first of them is reached, then leave as a batch
 * carrying the merged tickets of its events (unless the downstream is blocked).
 */
import type { TicketCounts } from '../delivery/tickets';
import { BatcherState, type Item } from './batcher-state';
import { approxEventBytes } from './event-fields';
import { addShare, type TicketShare } from './item-tickets';
import type { FlushReason } from './types';

export abstract class BatchOutput<O> extends BatcherState<O> {
  protected get bufferedCount(): number {
    return this.out.length - this.outHead;
  }

  protected enqueue(item: Item<O>): void {
    if (this.options.maxBytes > 0) {
      item.bytes = approxEventBytes(item.event);
      this.outBytes += item.bytes;
    }
    if (this.bufferedCount === 0) this.firstBufferedAt = this.now();
    this.out.push(item);
  }

  protected clearBuffer(): void {
    this.out = [];
    this.outHead = 0;
    this.outBytes = 0;
    this.firstBufferedAt = undefined;
  }

  /** Emits the full batches (and all the rest when the interval is due) unless blocked. */
  protected drain(intervalDue: boolean): void {
    const o = this.options;
    let emitted = false;
    let checked = false;
    while (this.bufferedCount > 0) {
      const full = this.bufferedCount >= o.size || (o.maxBytes > 0 && this.outBytes > o.maxBytes);
      if (!full && !intervalDue) break;
      if (!checked && this.isBlocked) {
        checked = true;
        this.blocked = this.isBlocked();
        if (this.blocked) {
          this.retryAt = this.now() + o.blockedRetryMs;
          break;
        }
        this.retryAt = undefined;
      }
      this.emitBatch(full ? 'size' : 'interval');
      emitted = true;
    }
    if (emitted) this.afterEmit();
  }

  protected afterEmit(): void {
    if (this.bufferedCount === 0) this.clearBuffer();
    // what remains after a cut counts its interval from now
    else this.firstBufferedAt = this.now();
    if (this.outHead > 4096 && this.outHead * 2 > this.out.length) {
      this.out = this.out.slice(this.outHead);
      this.outHead = 0;
    }
  }

  /** Takes the next batch from the front of the buffer: at most `size` events and `maxBytes`. */
  protected emitBatch(fallbackReason: FlushReason): void {
    const o = this.options;
    const start = this.outHead;
    const limit = Math.min(this.out.length, start + o.size);
    let end = start;
    let bytes = 0;
    let cutByBytes = false;
    if (o.maxBytes > 0) {
      while (end < limit) {
        const b = this.out[end].bytes;
        if (end > start && bytes + b > o.maxBytes) {
          cutByBytes = true;
          break;
        }
        bytes += b;
        end++;
      }
    } else {
      end = limit;
    }
    const reason: FlushReason = fallbackReason === 'size' && cutByBytes ? 'bytes' : fallbackReason;
    const items = this.out.slice(start, end);
    this.outHead = end;
    this.outBytes -= bytes;
    const events = new Array<unknown>(items.length);
    let tickets: TicketCounts | undefined;
    // The events of one message usually share one share object: added once per run of them,
    // not once per event (a keyed update of the counts object per event showed in profiles).
    let run: TicketShare | undefined;
    let runLength = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      events[i] = item.event;
      if (item.share === run) {
        runLength++;
        continue;
      }
      if (run && (run.id !== undefined || run.extra)) addShare((tickets ??= {}), run, runLength);
      run = item.share;
      runLength = 1;
    }
    if (run && (run.id !== undefined || run.extra)) addShare((tickets ??= {}), run, runLength);
    this.counters.out += items.length;
    this.counters.batches++;
    try {
      this.handlers.onBatch({ events, tickets, reason, bytes, origin: items[0].parcel?.origin });
    } catch (err) {
      this.handlers.onError?.(err);
    }
    for (const item of items) this.leave(item);
  }
}
