/**
 * One attempt at a stream: fetch a token, open the gRPC EphemeralStream call, complete the
 * create_stream round trip, then carry requests and read acks and the close signal until the
 * attempt ends, with exactly one outcome (`ended`). It never retries: what happens next is the
 * supervisor's decision (supervisor.ts). Aborting its signal half-closes the call and waits
 * briefly for the server's status.
 */
import { performance } from 'perf_hooks';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { TokenProvider } from './auth';
import type { ResponseCall, ZerobusChannel } from './channel';
import { fromGrpcStatus, ZerobusError, type ErrorContext } from './errors';
import { toNumber, type StreamResponseMsg } from './protocol';

export interface StreamContext {
  channel: ZerobusChannel;
  tokens: TokenProvider;
  userAgent: string;
  errorContext: ErrorContext;
}

export interface SessionParams {
  table: string;
  /** the encoded create_stream request */
  createRequest: Buffer;
  createTimeoutMs: number;
  /** no response for this long while requests are unacknowledged ends the attempt (0: never) */
  ackTimeoutMs: number;
  closeGraceMs: number;
  /** upper bound of the pause after a close signal */
  closeSignalMaxWaitMs?: number;
  /** fetch a new token instead of a cached one */
  freshToken: boolean;
  errorContext: ErrorContext;
}

/** What the session reports while it runs; the landing zone side implements it. */
export interface SessionHooks {
  /** the server answered create_stream: requests may be written from offset 0 */
  opened(streamId: string): void;
  /** a cumulative ack; returns what is wrong with it (a protocol violation), if anything */
  acked(offset: number): string | undefined;
  /** requests written on this session and not yet acknowledged */
  unacked(): number;
  /** the server announced its end: send nothing more, acks still arrive */
  paused(): void;
  /** the call accepts writes again after write() returned false */
  writable(): void;
}

export type SessionEnd =
  /** the server rotated the stream (close signal): move on at once with a fresh token */
  | { kind: 'rollover' }
  /** the supervisor aborted the attempt */
  | { kind: 'aborted' }
  /** `retryNowFresh`: a cached token was refused; one immediate retry with a new token */
  | { kind: 'error'; error: ZerobusError; retryNowFresh?: boolean };

/** The part of a session the supervisor and the sender use; tests supply fakes. */
export interface Session {
  readonly ended: Promise<SessionEnd>;
  /** after a rollover the old call may linger for its status: cancel it now */
  cancel(): void;
  /** resolves once the gRPC call is finished (status received or cancelled) */
  readonly settled: Promise<void>;
  write(frame: Buffer): boolean;
  /** requests were written; `firstUnacked`: none was unacknowledged before, the clock starts now */
  startAckClock(firstUnacked: boolean): void;
  /** nothing is unacknowledged any more */
  stopAckClock(): void;
  /** the ack handler found a protocol violation */
  protocolError(what: string): void;
}

export type SessionFactory = (fresh: boolean, hooks: SessionHooks, signal: AbortSignal) => Session;

type Phase = 'token' | 'creating' | 'open' | 'paused' | 'ended';

export class StreamSession implements Session {
  readonly ended: Promise<SessionEnd>;
  readonly settled: Promise<void>;
  private resolveEnded!: (end: SessionEnd) => void;
  private resolveSettled!: () => void;
  private phase: Phase = 'token';
  private call?: ResponseCall;
  private lastResponseAt = 0;
  private createTimer?: NodeJS.Timeout;
  private ackTimer?: NodeJS.Timeout;
  private pauseTimer?: NodeJS.Timeout;
  private graceTimer?: NodeJS.Timeout;

  constructor(private readonly context: StreamContext, private readonly p: SessionParams, private readonly hooks: SessionHooks, signal: AbortSignal) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.settled = new Promise((resolve) => (this.resolveSettled = resolve));
    signal.addEventListener('abort', () => this.finish({ kind: 'aborted' }, 'graceful'), { once: true });
    void this.open();
  }

  write(frame: Buffer): boolean {
    return this.call!.write(frame);
  }

  startAckClock(firstUnacked: boolean): void {
    if (firstUnacked) this.lastResponseAt = performance.now();
    if (this.ackTimer || this.p.ackTimeoutMs <= 0) return;
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), this.p.ackTimeoutMs);
  }

  stopAckClock(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  protocolError(what: string): void {
    this.finish({ kind: 'error', error: new ZerobusError('PROTOCOL', `protocol violation: ${what}`, { grpcCode: GrpcStatus.INTERNAL }) }, 'cancel');
  }

  cancel(): void {
    clearTimeout(this.graceTimer);
    this.call?.cancel();
    this.resolveSettled();
  }

  private async open(): Promise<void> {
    const { tokens } = this.context;
    let token: string;
    try {
      token = await tokens.getToken(this.p.table, { fresh: this.p.freshToken });
    } catch (err) {
      this.fail(err instanceof ZerobusError ? err : new ZerobusError('TOKEN_UNAVAILABLE', String((err as Error)?.message ?? err)));
      return;
    }
    if (this.phase === 'ended') return;
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    md.set('x-databricks-zerobus-table-name', this.p.table);
    md.set('x-zerobus-sdk', this.context.userAgent);
    let call: ResponseCall;
    try {
      call = this.context.channel.openStream(md);
    } catch (err) {
      this.fail(new ZerobusError('UNAVAILABLE', `cannot open a stream: ${(err as Error).message}`, { grpcCode: GrpcStatus.UNAVAILABLE }));
      return;
    }
    this.call = call;
    this.phase = 'creating';
    call.on('data', (msg: StreamResponseMsg) => this.onResponse(msg));
    call.on('error', (err: ServiceError) => this.onCallError(err));
    call.on('status', (s: { code: number }) => {
      this.resolveSettled();
      if (s.code === GrpcStatus.OK) this.onServerEnd();
    });
    call.on('drain', () => {
      if (this.phase === 'open') this.hooks.writable();
    });
    this.createTimer = setTimeout(() => {
      if (this.phase === 'creating') {
        this.fail(new ZerobusError('DEADLINE_EXCEEDED', `stream creation timed out after ${this.p.createTimeoutMs} ms`, { grpcCode: GrpcStatus.DEADLINE_EXCEEDED }));
      }
    }, this.p.createTimeoutMs);
    call.write(this.p.createRequest);
  }

  private onResponse(msg: StreamResponseMsg): void {
    if (this.phase === 'ended') return;
    this.lastResponseAt = performance.now();
    if (msg.create_stream_response != null) {
      if (this.phase !== 'creating') return this.protocolError('a second create_stream_response');
      const id = msg.create_stream_response.stream_id;
      if (!id) return this.protocolError('create_stream_response without stream_id');
      clearTimeout(this.createTimer);
      this.phase = 'open';
      this.hooks.opened(id);
      return;
    }
    if (this.phase === 'creating') return this.protocolError('the first response was not create_stream_response');
    if (msg.ingest_record_response != null) {
      const ack = toNumber(msg.ingest_record_response.durability_ack_up_to_offset);
      if (ack === undefined) return this.protocolError('ack without durability_ack_up_to_offset');
      const wrong = this.hooks.acked(ack);
      if (wrong) return this.protocolError(wrong);
      if (this.phase === 'paused' && this.hooks.unacked() === 0) this.finish({ kind: 'rollover' }, 'graceful');
      return;
    }
    if (msg.close_stream_signal != null) {
      const d = msg.close_stream_signal.duration;
      this.onCloseSignal(d ? (toNumber(d.seconds) ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6) : 0);
    }
  }

  /** Graceful server close: stop sending, collect acks, then roll over to a new stream. */
  private onCloseSignal(durationMs: number): void {
    if (this.phase !== 'open') return;
    this.phase = 'paused';
    this.stopAckClock();
    this.hooks.paused();
    const wait = Math.min(durationMs, this.p.closeSignalMaxWaitMs ?? Infinity);
    if (this.hooks.unacked() === 0 || wait <= 0) return this.finish({ kind: 'rollover' }, 'graceful');
    this.pauseTimer = setTimeout(() => this.finish({ kind: 'rollover' }, 'graceful'), wait);
  }

  /** One timer per attempt, re-armed for the remainder instead of being reset on every ack. */
  private checkAckTimeout(): void {
    this.ackTimer = undefined;
    const unacked = this.hooks.unacked();
    if (this.phase !== 'open' || unacked === 0) return;
    const idle = performance.now() - this.lastResponseAt;
    if (idle >= this.p.ackTimeoutMs) {
      this.fail(new ZerobusError('ACK_TIMEOUT', `no response from the server for ${Math.round(idle)} ms with ${unacked} requests unacknowledged`, { grpcCode: GrpcStatus.DEADLINE_EXCEEDED }));
      return;
    }
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), Math.max(1, this.p.ackTimeoutMs - idle));
  }

  private onServerEnd(): void {
    if (this.phase === 'ended') return;
    if (this.phase === 'paused') return this.finish({ kind: 'rollover' }, 'graceful');
    const what = this.phase === 'creating' ? 'the server ended the stream before answering create_stream' : 'the server ended the stream';
    this.fail(new ZerobusError('UNAVAILABLE', what, { grpcCode: GrpcStatus.OK, retryable: true }));
  }

  private onCallError(err: ServiceError): void {
    if (this.phase === 'ended') return;
    if (this.phase === 'paused' && (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.CANCELLED)) {
      return this.finish({ kind: 'rollover' }, 'graceful'); // the server ended the stream it announced it would end
    }
    const zerr = fromGrpcStatus({ code: err.code, details: err.details }, this.p.errorContext);
    const { tokens } = this.context;
    if (err.code === GrpcStatus.UNAUTHENTICATED && tokens.refreshable && !this.p.freshToken) {
      // A cached token may have been revoked or expired early: one more try with a new one.
      tokens.invalidate(this.p.table);
      const error = new ZerobusError(zerr.code, zerr.message, { grpcCode: zerr.grpcCode, retryable: true, hint: zerr.hint });
      return this.finish({ kind: 'error', error, retryNowFresh: true }, 'cancel');
    }
    this.fail(zerr);
  }

  private fail(error: ZerobusError): void {
    this.finish({ kind: 'error', error }, 'cancel');
  }

  /** The one way out: stop the timers, leave the call (half-close or cancel), report once. */
  private finish(end: SessionEnd, leave: 'graceful' | 'cancel'): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    clearTimeout(this.createTimer);
    clearTimeout(this.pauseTimer);
    this.stopAckClock();
    const call = this.call;
    if (!call) {
      this.resolveSettled();
    } else if (leave === 'cancel') {
      call.cancel();
      this.resolveSettled();
    } else {
      // half-close so the server sees a clean end, wait briefly for its status, then cancel
      call.on('error', () => undefined);
      try {
        call.end();
        this.graceTimer = setTimeout(() => this.cancel(), this.p.closeGraceMs);
      } catch {
        this.cancel();
      }
      void this.settled.then(() => clearTimeout(this.graceTimer));
    }
    // an aborted attempt ends once its call is finished, so that close() leaves nothing behind
    if (end.kind === 'aborted') void this.settled.then(() => this.resolveEnded(end));
    else this.resolveEnded(end);
  }
}
