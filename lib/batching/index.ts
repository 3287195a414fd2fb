export { TagBatcher } from './tag-batcher';
export { BATCH_DEFAULTS, BatcherOptionsError, resolveBatcherOptions } from './options';
export type { BatcherOptions, BatcherTimers, ResolvedBatcherOptions } from './options';
export type { Batch, BatcherHandlers, BatcherStats, FilterCounters, FlushReason, PushMeta, PushResult } from './types';
export { SwingingDoor } from './swinging-door';
export type { DoorOutcome, DoorPoint } from './swinging-door';
export { distributeTickets } from './item-tickets';
export type { TicketShare } from './item-tickets';
export { approxEventBytes, tagKeyOf } from './event-fields';
