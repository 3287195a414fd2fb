/**
 * The sink's side of the one supervisor, with scripted sessions and fake timers (no gRPC, no
 * emulator): the slow retry after a final error, the growing delay after an auth refusal,
 * isolating the record a table refuses, replaying after a broken attempt, and close in each phase.
 */
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { isBackpressureError, ZerobusSink, type SinkStatus } from '../../../lib/sink';
import type { ZerobusClient } from '../../../lib/zerobus';
import { ZerobusError } from '../../../lib/zerobus/errors';
import type { Session, SessionEnd, SessionHooks } from '../../../lib/zerobus/session';
import { ZerobusStream, type StreamContext } from '../../../lib/zerobus/stream';
import type { StreamOptions } from '../../../lib/zerobus/types';

const TABLE = 'main.plant.rows';
const FAILED_RETRY_MS = 30_000;

/** A session the scripted server drives: requests are acked at once unless refused. */
class ScriptedSession implements Session {
  readonly ended: Promise<SessionEnd>;
  readonly settled = Promise.resolve();
  readonly requests: string[] = [];
  done = false;
  private resolveEnd!: (end: SessionEnd) => void;
  constructor(private readonly server: ScriptedServer, readonly hooks: SessionHooks, readonly signal: AbortSignal) {
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
    signal.addEventListener('abort', () => this.end({ kind: 'aborted' }));
    queueMicrotask(() => server.onOpen(this));
  }
  end(end: SessionEnd): void {
    if (this.done) return;
    this.done = true;
    this.resolveEnd(end);
  }
  write(frame: Buffer): boolean {
    const offset = this.requests.length;
    this.requests.push(frame.toString('latin1'));
    queueMicrotask(() => this.server.onRequest(this, offset));
    return true;
  }
  cancel(): void {}
  startAckClock(): void {}
  stopAckClock(): void {}
  protocolError(what: string): void {
    throw new Error(`the sink broke the protocol: ${what}`);
  }
}

class ScriptedServer {
  readonly sessions: ScriptedSession[] = [];
  /** ids (the rows' `id`) the table stored, in order, with repeats */
  readonly stored: number[] = [];
  /** the next attempts are refused with this error while set */
  refuse?: ZerobusError;
  /** a request holding this row id is refused: the server ends the stream (INVALID_ARGUMENT) */
  badId?: number;
  /** the next request breaks the attempt (retryable) before it is acknowledged */
  breakNext = false;

  onOpen(s: ScriptedSession): void {
    if (s.done) return;
    if (this.refuse) return s.end({ kind: 'error', error: this.refuse });
    s.hooks.opened(`stream-${this.sessions.length}`);
  }

  onRequest(s: ScriptedSession, offset: number): void {
    if (s.done) return;
    const ids = [...s.requests[offset].matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
    if (this.breakNext) {
      this.breakNext = false;
      return s.end({ kind: 'error', error: new ZerobusError('UNAVAILABLE', 'connection reset', { retryable: true }) });
    }
    if (this.badId !== undefined && ids.includes(this.badId)) {
      return s.end({ kind: 'error', error: new ZerobusError('INVALID_ARGUMENT', `row ${this.badId} does not fit the table`, { retryable: false }) });
    }
    this.stored.push(...ids);
    s.hooks.acked(offset);
  }

  /** A client whose streams run on this server's sessions. */
  client(): ZerobusClient {
    const context = { channel: { isReady: () => true }, errorContext: {} } as unknown as StreamContext;
    const create = (opts: StreamOptions) =>
      new ZerobusStream(context, opts, (_fresh, hooks, signal) => {
        const s = new ScriptedSession(this, hooks, signal);
        this.sessions.push(s);
        return s;
      });
    return { createStream: create, close: async () => undefined } as unknown as ZerobusClient;
  }
}

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i }));

describe('lib/sink ZerobusSink supervision (scripted sessions, fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  let server: ScriptedServer;
  let sink: ZerobusSink;
  let statuses: SinkStatus[];

  function start(opts: { maxBatchRecords?: number } = {}): ZerobusSink {
    sink = new ZerobusSink({
      client: server.client(),
      table: TABLE,
      format: 'rows',
      recordType: 'json',
      failedRetryMs: FAILED_RETRY_MS,
      backoff: { initialMs: 100, maxMs: 400, jitter: 0 },
      ...opts,
    });
    statuses = [];
    sink.on('state', (s) => statuses.push(s));
    return sink;
  }

  /** Starts a sink on a table that does not exist yet and accepts `n` rows: the sink fails. */
  async function failOnMissingTable(n: number) {
    server.refuse = new ZerobusError('NOT_FOUND', 'no such table', { retryable: false });
    start();
    const a = offer(rows(0, n));
    await clock.tickAsync(10);
    assert.equal(sink.state.state, 'failed');
    return a;
  }

  /** Accepts rows (memory spool: resolves once acknowledged); the outcome is read later. */
  function offer(items: object[]): { settled: () => 'resolved' | 'rejected' | 'pending'; error?: unknown } {
    let state: 'resolved' | 'rejected' | 'pending' = 'pending';
    const out: { settled: () => typeof state; error?: unknown } = { settled: () => state };
    sink.accept(items).then(
      () => (state = 'resolved'),
      (err: unknown) => {
        state = 'rejected';
        out.error = err;
      },
    );
    return out;
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    server = new ScriptedServer();
  });

  afterEach(async () => {
    const closed = sink.close(100);
    await clock.tickAsync(2000);
    await closed;
    clock.restore();
    sinon.restore();
  });

  it('a final error waits failedRetryInterval, keeps the data, then replays it from the spool', async () => {
    const a = await failOnMissingTable(10);
    assert.equal(sink.state.retryInMs, FAILED_RETRY_MS);
    assert.equal(server.sessions.length, 1);
    server.refuse = undefined; // an operator creates the table
    await clock.tickAsync(FAILED_RETRY_MS - 20);
    assert.equal(server.sessions.length, 1, 'no attempt before the interval');
    assert.equal(a.settled(), 'pending');
    await clock.tickAsync(20);
    assert.equal(server.sessions.length, 2);
    assert.equal(a.settled(), 'resolved');
    assert.deepEqual(server.stored, rows(0, 10).map((r) => r.id));
    assert.equal(sink.state.state, 'streaming');
  });

  it('an auth refusal is retried after a growing delay (2 s, 4 s, 8 s…) up to failedRetryInterval', async () => {
    server.refuse = new ZerobusError('PERMISSION_DENIED', 'no MODIFY grant', { retryable: false });
    start();
    offer(rows(0, 1));
    await clock.tickAsync(10);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      assert.equal(sink.state.state, 'failed');
      const wait = sink.state.retryInMs!;
      delays.push(wait);
      const before = server.sessions.length;
      await clock.tickAsync(wait + 10);
      assert.equal(server.sessions.length, before + 1, `attempt ${i + 2} after ${wait} ms`);
    }
    for (const [i, base] of [2000, 4000, 8000, 16_000, FAILED_RETRY_MS, FAILED_RETRY_MS].entries()) {
      assert.ok(delays[i] >= base * 0.8 && delays[i] <= base * 1.2, `delay ${i + 1}: ${delays[i]} ms, expected about ${base}`);
    }
    server.refuse = undefined;
    await clock.tickAsync(FAILED_RETRY_MS * 1.2 + 10);
    assert.equal(sink.state.state, 'streaming');
  });

  it('isolates the one record the table refuses: reported with the record, the others land once', async () => {
    server.badId = 4;
    start();
    const rejected: { seq: number; record: Buffer }[] = [];
    sink.on('rejected', (r) => rejected.push(r));
    const a = offer(rows(0, 10));
    await clock.tickAsync(100);
    assert.equal(a.settled(), 'resolved');
    assert.deepEqual(rejected.map((r) => JSON.parse(r.record.toString()).id), [4]);
    assert.deepEqual([...server.stored].sort((x, y) => x - y), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert.ok(!statuses.some((s) => s.state === 'failed'), 'one refused record is not a failure of the sink');
    // isolation is over: the next records travel together again
    const requestsBefore = server.sessions.reduce((n, s) => n + s.requests.length, 0);
    const b = offer(rows(10, 5));
    await clock.tickAsync(10);
    assert.equal(b.settled(), 'resolved');
    assert.equal(server.sessions.reduce((n, s) => n + s.requests.length, 0) - requestsBefore, 1);
  });

  it('a table that refuses every record is a final error and keeps them all', async () => {
    server.badId = -1;
    start({ maxBatchRecords: 100 });
    const failures: string[] = [];
    sink.on('failure', (f) => failures.push(f.code));
    server.onRequest = function (s: ScriptedSession) {
      s.end({ kind: 'error', error: new ZerobusError('INVALID_ARGUMENT', 'schema mismatch', { retryable: false }) });
    };
    const a = offer(rows(0, 10));
    await clock.tickAsync(100);
    assert.deepEqual(failures, ['INVALID_ARGUMENT']);
    assert.equal(sink.state.state, 'failed');
    assert.equal(a.settled(), 'pending', 'nothing is released from the spool');
    assert.equal(sink.stats().backlog, 10);
  });

  it('replays what was unacknowledged after a broken attempt, after the backoff', async () => {
    start();
    server.breakNext = true;
    const a = offer(rows(0, 5));
    await clock.tickAsync(10);
    assert.equal(sink.state.state, 'reconnecting');
    assert.equal(sink.state.retryInMs, 100);
    assert.equal(a.settled(), 'pending');
    await clock.tickAsync(100);
    assert.equal(a.settled(), 'resolved');
    assert.deepEqual(server.stored, [0, 1, 2, 3, 4]);
    assert.equal(server.sessions.length, 2);
    assert.equal(sink.stats().reconnects, 1);
  });

  it('close while waiting out a final error: prompt, no new attempt, unacknowledged accepts told to resend', async () => {
    const a = await failOnMissingTable(3);
    const closed = sink.close(5000);
    await clock.tickAsync(1000);
    await closed;
    assert.equal(sink.state.state, 'closed');
    assert.equal(a.settled(), 'rejected');
    assert.ok(isBackpressureError(a.error));
    await clock.tickAsync(FAILED_RETRY_MS * 2);
    assert.equal(server.sessions.length, 1, 'no attempt after close');
  });

  it('close during an open attempt ends it and keeps what was not acknowledged', async () => {
    start();
    offer(rows(0, 2));
    await clock.tickAsync(10);
    assert.equal(sink.state.state, 'streaming');
    server.onRequest = () => undefined; // the server stops acknowledging
    const a = offer(rows(2, 2));
    await clock.tickAsync(10);
    const closed = sink.close(300);
    await clock.tickAsync(2000);
    await closed;
    assert.equal(server.sessions[0].signal.aborted, true, 'the attempt was aborted');
    assert.equal(a.settled(), 'rejected');
    assert.deepEqual(server.stored, [0, 1]);
  });

  it('a final error while closing stops sending: no resend loop, the close ends within its bound', async () => {
    start();
    offer(rows(0, 2));
    await clock.tickAsync(10);
    server.onRequest = () => undefined; // the server stops acknowledging
    const a = offer(rows(2, 2));
    await clock.tickAsync(10);
    // A failed stream refuses ingest() at once. Resending after each refusal would be a loop of
    // microtasks that no timer ever interrupts (the process spins, the close never ends): the
    // stand-in stops such a loop after 50 calls so that the count below can tell.
    const ingest = ZerobusStream.prototype.ingest;
    let calls = 0;
    sinon.stub(ZerobusStream.prototype, 'ingest').callsFake(function (this: ZerobusStream, records: Buffer[] | string[]) {
      return ++calls > 50 ? new Promise<void>(() => undefined) : ingest.call(this, records);
    });
    const closed = sink.close(300);
    await clock.tickAsync(1);
    assert.equal(sink.state.state, 'closing');
    server.sessions[0].end({ kind: 'error', error: new ZerobusError('UNAUTHENTICATED', 'token rejected', { retryable: false }) });
    await clock.tickAsync(2000);
    await closed;
    assert.ok(calls <= 1, `${calls} ingest() calls after the stream failed`);
    assert.equal(a.settled(), 'rejected', 'the unacknowledged accept is told to resend');
  });

  it('close during a retry backoff cancels the retry', async () => {
    start();
    server.breakNext = true;
    offer(rows(0, 1));
    await clock.tickAsync(10);
    assert.equal(sink.state.state, 'reconnecting');
    const closed = sink.close(50);
    await clock.tickAsync(2000);
    await closed;
    await clock.tickAsync(10_000);
    assert.equal(server.sessions.length, 1);
  });
});
