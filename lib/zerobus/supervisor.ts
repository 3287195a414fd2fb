/**
 * The supervisor of one logical stream: a loop of single attempts (session.ts), each with its
 * own AbortController, in numbered steps:
 *   1. wait the retry delay (backoff, probing the channel while the connection is down);
 *   2. start an attempt: a session with a fresh token when the last one asked for it;
 *   3. when the session opens, the landing zone side replays what is unacknowledged on it;
 *   4. wait for the attempt's one outcome;
 *   5. classify it: a rollover goes again at once, a retryable error after a backoff (a refused
 *      cached token once at once); a final error ends supervision, unless the stream's owner
 *      has a final-error policy (the sink: slow retry, record isolation), which names the delay.
 * Nothing else retries, so every resend goes through step 3.
 */
import { Backoff, waitForRetry, type BackoffOptions } from './backoff';
import type { ZerobusError } from './errors';
import type { Session, SessionEnd, SessionFactory, SessionHooks } from './session';
import type { StreamState } from './types';

export interface StateDetail { retryInMs?: number; error?: ZerobusError }

/** What the supervisor drives: the landing zone side of the stream. */
export interface SupervisedStream extends Omit<SessionHooks, 'opened'> {
  /** step 3: the attempt's session is open; resend what is unacknowledged on it */
  opened(session: Session, streamId: string): void;
  state(state: StreamState, detail?: StateDetail): void;
  /** a final error: the delay before trying again (the owner's policy), or undefined to end */
  retryFinal?(error: ZerobusError, wasOpen: boolean): number | undefined;
  /** a final error: supervision has ended */
  failed(error: ZerobusError): void;
  /** the stream is closing and nothing is left to deliver: a failure then ends supervision */
  drained(): boolean;
  /** the connection is down (not a refusal on a working one): worth probing while waiting */
  connectionDown?(): boolean;
  /** true once the connection answers again: ends a probed wait early */
  connectionReady?(): boolean;
}

export class StreamSupervisor {
  reconnects = 0;
  lastError?: { code: string; message: string; at: number };
  streamId?: string;
  private readonly backoff: Backoff;
  private attempt?: AbortController;
  private session?: Session;
  /** sessions that rolled over and may still wait for their status */
  private readonly lingering = new Set<Session>();
  private cancelWait?: () => void;
  private stopped = false;
  private freshTokenNext = false;

  constructor(private readonly target: SupervisedStream, private readonly openSession: SessionFactory, backoff?: BackoffOptions) {
    this.backoff = new Backoff(backoff);
  }

  /** Runs the loop until a final error or stop(). */
  async run(): Promise<void> {
    let delay: number | undefined;
    let afterFinal = false;
    while (!this.stopped) {
      if (delay !== undefined && !(await this.waitRetry(delay, !afterFinal))) return;
      const { end, wasOpen } = await this.runAttempt(afterFinal);
      afterFinal = false;
      if (this.stopped || end.kind === 'aborted') return;
      if (end.kind === 'rollover') {
        this.freshTokenNext = true; // the server rotates streams to make clients refresh tokens
        this.lastError = { code: 'CLOSE_SIGNAL', message: 'server asked to move to a new stream', at: Date.now() };
        this.reconnects++;
        delay = undefined;
        continue;
      }
      const { error } = end;
      this.lastError = { code: error.code, message: error.message, at: Date.now() };
      if (!error.retryable) {
        delay = this.target.retryFinal?.(error, wasOpen);
        if (delay !== undefined && !this.stopped) {
          afterFinal = true; // the next attempt starts like a new stream
          this.backoff.reset();
          continue;
        }
        this.stopped = true;
        this.target.failed(error);
        return;
      }
      if (this.target.drained()) return;
      if (end.retryNowFresh) this.freshTokenNext = true;
      this.reconnects++;
      delay = end.retryNowFresh ? 0 : this.backoff.next();
      this.target.state('reconnecting', { retryInMs: delay, error });
    }
  }

  /** Ends supervision: aborts the attempt (half-closing its call) and cancels lingering calls. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelWait?.();
    this.attempt?.abort();
    if (this.session) await this.session.ended;
    for (const old of this.lingering) old.cancel();
    this.lingering.clear();
  }

  /** Steps 2 to 4. */
  private async runAttempt(afterFinal: boolean): Promise<{ end: SessionEnd; wasOpen: boolean }> {
    const attempt = new AbortController();
    this.attempt = attempt;
    let wasOpen = false;
    this.target.state(!afterFinal && (this.reconnects > 0 || this.streamId) ? 'reconnecting' : 'connecting');
    const fresh = this.freshTokenNext;
    this.freshTokenNext = false;
    const hooks: SessionHooks = {
      opened: (streamId) => {
        wasOpen = true;
        this.streamId = streamId;
        this.backoff.reset();
        this.target.opened(session, streamId);
      },
      acked: (offset) => this.target.acked(offset),
      unacked: () => this.target.unacked(),
      paused: () => this.target.paused(),
      writable: () => this.target.writable(),
    };
    const session = this.openSession(fresh, hooks, attempt.signal);
    this.session = session;
    const end = await session.ended;
    if (end.kind === 'rollover') {
      this.lingering.add(session);
      void session.settled.then(() => this.lingering.delete(session));
    }
    return { end, wasOpen };
  }

  /** Step 1: false when stopped while waiting. `probe`: the connection may be the cause. */
  private waitRetry(delayMs: number, probe: boolean): Promise<boolean> {
    const ready = probe && delayMs > 0 && this.target.connectionDown?.() ? this.target.connectionReady : undefined;
    return new Promise<boolean>((resolve) => {
      const cancel = waitForRetry(delayMs, ready, () => {
        this.cancelWait = undefined;
        resolve(!this.stopped);
      });
      this.cancelWait = () => {
        cancel();
        this.cancelWait = undefined;
        resolve(false);
      };
    });
  }
}
