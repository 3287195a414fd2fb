/** Shared helpers of the batching tests: a batcher on fake timers that records its batches. */
import sinon from 'sinon';
import { TagBatcher, type Batch, type BatcherOptions } from '../../../lib/batching';
import { DeliveryTracker } from '../../../lib/delivery/tickets';

export interface Recorded {
  at: number;
  batch: Batch<string>;
}

export interface Harness {
  clock: sinon.SinonFakeTimers;
  tracker: DeliveryTracker;
  batcher: TagBatcher<string>;
  batches: Recorded[];
  /** every emitted event, flattened */
  emitted(): unknown[];
  /** values of the emitted events, flattened */
  values(): unknown[];
  errors: unknown[];
}

export function makeHarness(opts: Partial<BatcherOptions> = {}, clockNow = 0): Harness {
  const clock = sinon.useFakeTimers({ now: clockNow, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const tracker = new DeliveryTracker();
  const batches: Recorded[] = [];
  const errors: unknown[] = [];
  const batcher = new TagBatcher<string>(
    { size: 500, intervalMs: 500, tracker, ...opts },
    { onBatch: (batch) => batches.push({ at: Date.now(), batch }), onError: (err) => errors.push(err) },
  );
  const emitted = () => batches.flatMap((b) => b.batch.events);
  return {
    clock, tracker, batcher, batches, errors, emitted,
    values: () => emitted().map((e) => (e as { value?: unknown }).value),
  };
}

export function disposeHarness(h: Harness | undefined): void {
  if (!h) return;
  h.batcher.close(false);
  h.tracker.failAll('test over');
  h.clock.restore();
}

let seq = 0;
/** A tag event; `t` defaults to the fake clock's now. */
export function ev(tagPath: string, value: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { tagPath, value, quality: 'Good', qualityCode: 192, timestamp: Date.now(), dataType: 'Float8', n: seq++, ...extra };
}
