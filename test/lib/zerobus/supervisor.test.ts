/** The stream supervisor alone: fake sessions, fake timers, no gRPC. */
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ZerobusError } from '../../../lib/zerobus/errors';
import { PROBE_AFTER_MS } from '../../../lib/zerobus/backoff';
import type { Session, SessionEnd, SessionHooks } from '../../../lib/zerobus/session';
import { StreamSupervisor, type StateDetail, type SupervisedStream } from '../../../lib/zerobus/supervisor';
import type { StreamState } from '../../../lib/zerobus/types';

class FakeSession implements Session {
  readonly ended: Promise<SessionEnd>;
  readonly settled: Promise<void>;
  cancelled = false;
  end!: (end: SessionEnd) => void;
  private settle!: () => void;
  constructor(readonly fresh: boolean, readonly hooks: SessionHooks, readonly signal: AbortSignal) {
    this.ended = new Promise((resolve) => (this.end = resolve));
    this.settled = new Promise((resolve) => (this.settle = resolve));
    // like StreamSession: an abort ends the attempt once its call is finished
    signal.addEventListener('abort', () => {
      this.settle();
      this.end({ kind: 'aborted' });
    });
  }
  cancel(): void {
    this.cancelled = true;
    this.settle();
  }
  write(): boolean {
    return true;
  }
  startAckClock(): void {}
  stopAckClock(): void {}
  protocolError(): void {}
}

const retryable = (code = 'UNAVAILABLE') => new ZerobusError(code, `${code} now`, { retryable: true });
const final = (code = 'NOT_FOUND') => new ZerobusError(code, `${code} for good`, { retryable: false });

function rig(opts: { drained?: boolean; down?: () => boolean; ready?: () => boolean; initialMs?: number; retryFinal?: SupervisedStream['retryFinal'] } = {}) {
  const sessions: FakeSession[] = [];
  const states: [StreamState, StateDetail | undefined][] = [];
  const failures: ZerobusError[] = [];
  const opened: string[] = [];
  const target: SupervisedStream = {
    opened: (_s, id) => opened.push(id),
    acked: () => undefined,
    unacked: () => 0,
    paused: () => states.push(['paused', undefined]),
    writable: () => undefined,
    state: (s, d) => states.push([s, d]),
    failed: (err) => failures.push(err),
    drained: () => opts.drained ?? false,
    ...(opts.down ? { connectionDown: opts.down, connectionReady: opts.ready } : {}),
    ...(opts.retryFinal ? { retryFinal: opts.retryFinal } : {}),
  };
  const supervisor = new StreamSupervisor(
    target,
    (fresh, hooks, signal) => {
      const s = new FakeSession(fresh, hooks, signal);
      sessions.push(s);
      return s;
    },
    { initialMs: opts.initialMs ?? 100, maxMs: Math.max(400, opts.initialMs ?? 0), multiplier: 2, jitter: 0 },
  );
  const retryDelays = () => states.filter(([s, d]) => s === 'reconnecting' && d?.retryInMs !== undefined).map(([, d]) => d!.retryInMs);
  return { supervisor, sessions, states, failures, opened, retryDelays };
}

describe('stream supervisor (fake sessions, fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('retries retryable errors after a growing backoff, reset once a session opens', async () => {
    const r = rig();
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    assert.equal(r.sessions.length, 1);
    assert.deepEqual(r.states[0], ['connecting', undefined]);
    for (const [i, wait] of [100, 200, 400, 400].entries()) {
      r.sessions[i].end({ kind: 'error', error: retryable() });
      await clock.tickAsync(wait - 1);
      assert.equal(r.sessions.length, i + 1, `attempt ${i + 2} must wait ${wait} ms`);
      await clock.tickAsync(1);
      assert.equal(r.sessions.length, i + 2);
    }
    assert.deepEqual(r.retryDelays(), [100, 200, 400, 400]);
    r.sessions[4].hooks.opened('s-5');
    assert.deepEqual(r.opened, ['s-5']);
    r.sessions[4].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(100);
    assert.equal(r.sessions.length, 6, 'an opened session resets the backoff');
    assert.equal(r.supervisor.reconnects, 5);
    assert.equal(r.supervisor.lastError?.code, 'UNAVAILABLE');
    await r.supervisor.stop();
    await done;
  });

  for (const c of [
    { name: 'a final error ends supervision, reported once', drained: false, error: final(), failures: ['NOT_FOUND'] },
    { name: 'a retryable error while closing with nothing left to deliver ends it quietly', drained: true, error: retryable(), failures: [] },
  ]) {
    it(c.name, async () => {
      const r = rig({ drained: c.drained });
      const done = r.supervisor.run();
      await clock.tickAsync(0);
      r.sessions[0].end({ kind: 'error', error: c.error });
      await done;
      await clock.tickAsync(60_000);
      assert.equal(r.sessions.length, 1, 'no further attempt');
      assert.deepEqual(r.failures.map((e) => e.code), c.failures);
    });
  }

  it("after a final error, the owner's policy names the delay; the next attempt starts like a new stream", async () => {
    const asked: [string, boolean][] = [];
    const r = rig({
      retryFinal: (err, wasOpen) => {
        asked.push([err.code, wasOpen]);
        return 5000;
      },
    });
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    r.sessions[0].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(100);
    r.sessions[1].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(200);
    r.sessions[2].end({ kind: 'error', error: final('INVALID_ARGUMENT') });
    await clock.tickAsync(4999);
    assert.equal(r.sessions.length, 3, 'not before the delay the policy named');
    await clock.tickAsync(1);
    assert.equal(r.sessions.length, 4);
    assert.deepEqual(asked, [['INVALID_ARGUMENT', false]]);
    assert.equal(r.failures.length, 0, 'the stream did not fail');
    assert.deepEqual(r.states.at(-1), ['connecting', undefined]);
    r.sessions[3].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(100);
    assert.equal(r.sessions.length, 5, 'the backoff starts over (100 ms, not 400)');
    await r.supervisor.stop();
    await done;
  });

  it('retries a refused cached token at once with a fresh one, then backs off', async () => {
    const r = rig();
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    assert.equal(r.sessions[0].fresh, false);
    r.sessions[0].end({ kind: 'error', error: retryable('UNAUTHENTICATED'), retryNowFresh: true });
    await clock.tickAsync(0);
    assert.equal(r.sessions.length, 2);
    assert.equal(r.sessions[1].fresh, true);
    r.sessions[1].end({ kind: 'error', error: final('UNAUTHENTICATED') });
    await done;
    assert.deepEqual(r.retryDelays(), [0]);
    assert.equal(r.failures.length, 1);
  });

  it('rolls over at once with a fresh token and cancels the old call on stop', async () => {
    const r = rig();
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    r.sessions[0].hooks.opened('s-1');
    r.sessions[0].end({ kind: 'rollover' });
    await clock.tickAsync(0);
    assert.equal(r.sessions.length, 2);
    assert.equal(r.sessions[1].fresh, true);
    assert.equal(r.supervisor.lastError?.code, 'CLOSE_SIGNAL');
    assert.deepEqual(r.states.map(([s]) => s), ['connecting', 'reconnecting']);
    await r.supervisor.stop();
    await done;
    assert.equal(r.sessions[0].cancelled, true, 'the rolled-over call must not outlive the stream');
    assert.equal(r.sessions[1].signal.aborted, true);
  });

  it('close during an attempt aborts it; close during a wait cancels the retry', async () => {
    const a = rig();
    const doneA = a.supervisor.run();
    await clock.tickAsync(0);
    await a.supervisor.stop();
    await doneA;
    assert.equal(a.sessions[0].signal.aborted, true);

    const b = rig();
    const doneB = b.supervisor.run();
    await clock.tickAsync(0);
    b.sessions[0].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(50);
    await b.supervisor.stop();
    await doneB;
    await clock.tickAsync(10_000);
    assert.equal(b.sessions.length, 1, 'no attempt after close');
  });

  it('probes a down connection during a long backoff and retries as soon as it is back', async () => {
    let ready = false;
    const r = rig({ down: () => true, ready: () => ready, initialMs: 20_000 });
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    r.sessions[0].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(PROBE_AFTER_MS + 2000);
    assert.equal(r.sessions.length, 1, 'still waiting while the connection is down');
    ready = true;
    await clock.tickAsync(1250); // one probe interval, jitter included
    assert.equal(r.sessions.length, 2, 'retried within a probe interval of the connection returning');
    await r.supervisor.stop();
    await done;
  });

  it('waits the full backoff, unprobed, when the connection is up (a refusal)', async () => {
    const r = rig({ down: () => false, ready: () => true, initialMs: 20_000 });
    const done = r.supervisor.run();
    await clock.tickAsync(0);
    r.sessions[0].end({ kind: 'error', error: retryable() });
    await clock.tickAsync(19_999);
    assert.equal(r.sessions.length, 1);
    await clock.tickAsync(1);
    assert.equal(r.sessions.length, 2);
    await r.supervisor.stop();
    await done;
  });
});
