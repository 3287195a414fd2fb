/**
 * Delivery tickets per event. A message's tickets count the events it carries; the batcher
 * splits them over the message's events so that each event can be emitted or settled on its
 * own, and merges them again on every batch it emits (see lib/delivery/tickets.ts).
 */
import type { DeliveryTracker, TicketCounts } from '../delivery/tickets';

/** The share of tickets one event carries: usually one ticket with count 1. */
export interface TicketShare {
  id: string | undefined;
  count: number;
  /** rare: more tickets on one event (a message that counted more events than it carried) */
  extra: TicketCounts | undefined;
}

const NO_TICKET: TicketShare = Object.freeze({ id: undefined, count: 0, extra: undefined }) as TicketShare;

/**
 * Distributes a message's tickets over its `n` events in order: with `{A: 2, B: 1}` and three
 * events, events 0 and 1 carry A×1 and event 2 carries B×1. Counts beyond `n` stay with the
 * last event (nothing is ever lost); events beyond the counts carry no ticket.
 */
export function distributeTickets(tickets: TicketCounts | undefined, n: number): (i: number) => TicketShare {
  if (!tickets || n <= 0) return () => NO_TICKET;
  const ids = Object.keys(tickets).filter((id) => tickets[id] > 0);
  if (ids.length === 0) return () => NO_TICKET;
  if (ids.length === 1 && tickets[ids[0]] === n) {
    // shares are never mutated once made, so all events of the message can share one
    const one: TicketShare = { id: ids[0], count: 1, extra: undefined };
    return () => one;
  }
  const shares: TicketShare[] = [];
  let k = 0;
  for (const id of ids) {
    let remaining = Math.floor(tickets[id]);
    while (remaining > 0 && k < n) {
      shares.push({ id, count: 1, extra: undefined });
      remaining--;
      k++;
    }
    if (remaining > 0) {
      const last = shares[n - 1];
      last.extra ??= {};
      last.extra[id] = (last.extra[id] ?? 0) + remaining; // still being built: not shared yet
    }
  }
  return (i) => shares[i] ?? NO_TICKET;
}

/** Adds `times` events' worth of one share into a batch's ticket counts. */
export function addShare(into: TicketCounts, share: TicketShare, times = 1): void {
  if (share.id !== undefined) into[share.id] = (into[share.id] ?? 0) + share.count * times;
  if (share.extra) for (const id of Object.keys(share.extra)) into[id] = (into[id] ?? 0) + share.extra[id] * times;
}

/** Settles one event's share as done (an event dropped on purpose was delivered as asked). */
export function settleShare(tracker: Pick<DeliveryTracker, 'settle'>, share: TicketShare): void {
  if (share.id !== undefined) tracker.settle(share.id, share.count);
  if (share.extra) for (const id of Object.keys(share.extra)) tracker.settle(id, share.extra[id]);
}
