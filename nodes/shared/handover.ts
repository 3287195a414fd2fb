import { deliveryTracker, type TicketCounts } from '../../lib/delivery/tickets';
import type { HandoverTarget } from '../../lib/delivery/handover';

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
