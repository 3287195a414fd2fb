/**
 * Delivery tickets let a source node (the Ignition receiver in `ack: durable` mode) learn when
 * the events it passed downstream were made durable by a zerobus-out node, even when the
 * events cross change, function and batch nodes that clone, split and re-batch messages.
 *
 * The source opens a ticket for N events and puts `{ [ticketId]: N }` on the message under
 * TICKETS_PROPERTY. Every node that re-packs events keeps, on each message it emits, how many
 * events of each ticket that message carries (`mergeTickets`, `splitTickets`); a node that
 * drops events on purpose (debounce, deadband) settles them as done. The sink settles a
 * message's tickets once all its records are durable. Because Node-RED's cloneMessage copies
 * plain properties, tickets survive cloning; a function node that builds a brand new message
 * loses them, and the source then answers 503 after its timeout so that nothing is lost.
 */
import { randomUUID } from 'crypto';

export const TICKETS_PROPERTY = '_zerobusTickets';

/** ticket id → number of the ticket's events carried by one message */
export type TicketCounts = Record<string, number>;

export interface TicketOutcome {
  /** events that reached durability */
  delivered: number;
  /** events a sink rejected for good (they can never be accepted) */
  failed: number;
  /** reasons given for failures, at most a few */
  errors: string[];
}

interface OpenTicket {
  expected: number;
  outcome: TicketOutcome;
  resolve: (outcome: TicketOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class DeliveryTimeoutError extends Error {
  constructor(readonly outcome: TicketOutcome) {
    super('events were not made durable in time');
    this.name = 'DeliveryTimeoutError';
  }
}

export class DeliveryTracker {
  private readonly open = new Map<string, OpenTicket>();

  /** Opens a ticket for `expected` events; the promise resolves when all are settled. */
  openTicket(expected: number, timeoutMs: number): { id: string; settled: Promise<TicketOutcome> } {
    const id = randomUUID();
    const outcome: TicketOutcome = { delivered: 0, failed: 0, errors: [] };
    if (expected <= 0) return { id, settled: Promise.resolve(outcome) };
    const settled = new Promise<TicketOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.open.delete(id);
        reject(new DeliveryTimeoutError(outcome));
      }, timeoutMs);
      timer.unref?.();
      this.open.set(id, { expected, outcome, resolve, reject, timer });
    });
    return { id, settled };
  }

  /** Marks `count` events of a ticket as done; unknown (expired) tickets are ignored. */
  settle(id: string, count: number, failure?: string): void {
    const t = this.open.get(id);
    if (!t || count <= 0) return;
    if (failure) {
      t.outcome.failed += count;
      if (t.outcome.errors.length < 10) t.outcome.errors.push(failure);
    } else {
      t.outcome.delivered += count;
    }
    if (t.outcome.delivered + t.outcome.failed >= t.expected) {
      clearTimeout(t.timer);
      this.open.delete(id);
      t.resolve(t.outcome);
    }
  }

  /** Settles every ticket a message carries. */
  settleAll(tickets: TicketCounts | undefined, failure?: string): void {
    if (!tickets) return;
    for (const id of Object.keys(tickets)) this.settle(id, tickets[id], failure);
  }

  /**
   * Settles a message's tickets when `failed` of its events were refused. The counts do not say
   * which events were refused, so the failures are charged to the tickets in order (exact for
   * the usual one-ticket message) and the rest count as delivered.
   */
  settleWithFailures(tickets: TicketCounts | undefined, failed: number, reason: string): void {
    if (!tickets) return;
    let left = failed;
    for (const id of Object.keys(tickets)) {
      const count = tickets[id];
      const charged = Math.min(count, left);
      left -= charged;
      if (charged > 0) this.settle(id, charged, reason);
      if (count - charged > 0) this.settle(id, count - charged);
    }
  }

  /** Abandons every open ticket (their sources answer 503). */
  failAll(reason: string): void {
    for (const [id, t] of this.open) {
      clearTimeout(t.timer);
      this.open.delete(id);
      t.reject(new Error(reason));
    }
  }

  get openCount(): number {
    return this.open.size;
  }
}

/** One tracker per process: tickets are random ids, so every Node-RED runtime can share it. */
export const deliveryTracker = new DeliveryTracker();

/** The tickets a message carries, if any. */
export function ticketsOf(msg: unknown): TicketCounts | undefined {
  const t = (msg as Record<string, unknown> | null)?.[TICKETS_PROPERTY];
  return t && typeof t === 'object' ? (t as TicketCounts) : undefined;
}

/** Adds `from` into `into` (used when events of several messages are packed into one). */
export function mergeTickets(into: TicketCounts, from: TicketCounts | undefined): TicketCounts {
  if (from) for (const id of Object.keys(from)) into[id] = (into[id] ?? 0) + from[id];
  return into;
}
