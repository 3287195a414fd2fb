/**
 * What a sink shows: its status (one event per change) and its failure episodes. A final
 * error is reported once ('failure') when the sink enters 'failed', not again while it stays
 * failed; the episode ends when the cause proves fixed (a stream opens, or records are
 * acknowledged after refused ones).
 */
import type { StreamState } from '../zerobus';
import { toFailure } from './failure';
import type { SinkFailure, SinkStatus } from './types';

export interface StatusEvents {
  state(status: SinkStatus): void;
  failure(failure: SinkFailure): void;
}

export class StatusBoard {
  status: SinkStatus = { state: 'starting' };
  lastFailure: SinkFailure | undefined;
  reconnects = 0;
  private inFailureEpisode = false;

  constructor(private readonly events: StatusEvents, private readonly now: () => number) {}

  get failed(): boolean {
    return this.status.state === 'failed';
  }

  set(status: SinkStatus): void {
    const prev = this.status;
    if (prev.state === status.state && prev.retryInMs === status.retryInMs && prev.retryAt === status.retryAt && prev.error?.message === status.error?.message) return;
    this.status = status;
    this.events.state(status);
  }

  /** `retryInMs`: when a new stream is tried (none: not retried). */
  fail(err: unknown, retryInMs?: number): SinkFailure {
    const failure = toFailure(err);
    this.lastFailure = failure;
    this.set({ state: 'failed', error: failure, retryInMs, retryAt: retryInMs === undefined ? undefined : this.now() + retryInMs });
    if (!this.inFailureEpisode) {
      this.inFailureEpisode = true;
      this.events.failure(failure);
    }
    return failure;
  }

  /** A stream is being created: shown unless a final error is still unproven fixed. */
  connecting(): void {
    if (!this.inFailureEpisode) this.set({ state: 'connecting' });
  }

  /** The stream's state, in the sink's words; true when it opened. */
  streamState(state: StreamState, detail?: { retryInMs?: number; error?: Error }): boolean {
    switch (state) {
      case 'idle':
      case 'connecting':
        // A retry after a final error keeps showing the error until it proves fixed.
        if (this.status.state !== 'reconnecting') this.connecting();
        return false;
      case 'open':
      case 'paused':
        // An open stream proves credentials, grants and table fixed; refused records need an ack.
        if (this.lastFailure?.code !== 'INVALID_ARGUMENT') this.inFailureEpisode = false;
        this.set({ state: 'streaming' });
        return true;
      case 'reconnecting':
        this.reconnects++;
        this.set({ state: 'reconnecting', retryInMs: detail?.retryInMs, error: detail?.error ? toFailure(detail.error) : undefined });
        return false;
      default:
        return false;
    }
  }

  /** Records were acknowledged: whatever failed works again. */
  acknowledged(): void {
    this.inFailureEpisode = false;
    if (this.status.state !== 'streaming') this.set({ state: 'streaming' });
  }
}
