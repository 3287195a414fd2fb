import type { Node } from 'node-red';
import { deliveryTracker, type TicketCounts } from '../../lib/delivery/tickets';
import { handoverBoard, type HandoverTarget } from '../../lib/delivery/handover';

export interface HeldBatch {
  events: unknown[];
  tickets?: TicketCounts;
}

/**
 * Appends held batches to every target at a stop (each target would have received them by
 * wire). A batch spooled by all its targets settles its delivery tickets; one refused keeps
 * them open (a durable sender was not answered and resends) and is counted, with the first reason.
 */
export async function handOverBatches(batches: HeldBatch[], targets: HandoverTarget[]): Promise<{ count: number; reason: string }> {
  let count = 0;
  let reason = '';
  for (const batch of batches) {
    const results = await Promise.allSettled(targets.map((take) => take(batch.events)));
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) {
      count += batch.events.length;
      reason ||= (refused.reason as Error)?.message ?? String(refused.reason);
    } else {
      deliveryTracker.settleAll(batch.tickets);
    }
  }
  return { count, reason };
}

/**
 * The hand-over targets (zerobus-out nodes) wired straight to a node's first output: a node in
 * between would be skipped by a hand-over, so only direct wires count.
 */
export function directHandoverTargets(node: Node): HandoverTarget[] {
  const wires = (node as Node & { wires?: unknown }).wires;
  const first = Array.isArray(wires) && Array.isArray(wires[0]) ? (wires[0] as unknown[]) : [];
  const out: HandoverTarget[] = [];
  for (const id of first) {
    const target = typeof id === 'string' ? handoverBoard.target(id) : undefined;
    if (target) out.push(target);
  }
  return out;
}
