/**
 * Scenario 4: protocol faults injected through the emulator's fault controls, one after the
 * other, while an Ignition-like source keeps posting (OAuth enforced, token requests counted by
 * a proxy in front of the token endpoint). After each fault the sink streams again; at the end
 * every event answered 200 is in the table.
 * - retryable: CloseStreamSignal, acks that stop, slow acks, UNAVAILABLE and RESOURCE_EXHAUSTED
 *   on create and mid-stream, token endpoint 500 for a while, token expiry mid-stream;
 * - final: token endpoint 401, revoked grant (PERMISSION_DENIED): the sink stops with a clear
 *   status (node status through a status node, /diagnostics), keeps taking data into the spool,
 *   retries only every `failedRetryInterval` (no tight loop), and delivers once the fault is cleared.
 */
import assert from 'node:assert/strict';
import { status as Grpc } from '@grpc/grpc-js';
import { eventually } from '../support/dist';
import { ChaosRig, report, scaled, sleep, TABLE, useChaosRig } from './rig';

const FAILED_RETRY_S = 3;

describe('chaos: protocol faults', function () {
  this.timeout(scaled(300_000));
  let rig: ChaosRig;
  const figures: Record<string, unknown> = {};

  useChaosRig(
    {
      name: 'faults',
      clientId: 'chaos-faults-client',
      clientSecret: 'chaos-faults-secret',
      countTokenRequests: true,
      outProps: { failedRetryInterval: FAILED_RETRY_S, retryBackoffMax: 2 },
      source: { batch: 100, intervalMs: 50 },
    },
    async (started) => {
      rig = started;
      rig.source.start();
      await eventually('rows flowing', async () => (await rig.emulator.rowCount()) > 0, 30_000);
    },
  );

  const streamsOpened = (from: number) => rig.emulatorLines(from).filter((l) => / opened on /.test(l)).length;
  const refusedCreates = (from: number, code: string) => rig.emulatorLines(from).filter((l) => l.includes('(not created) ends: ' + code)).length;
  const streaming = async () => (await rig.sink()).state === 'streaming';
  /** the sink streams again and has acknowledged records since `since` (rows keep arriving) */
  async function recovered(what: string, rowsBefore: number, timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now();
    await eventually(`${what}: streaming again`, streaming, timeoutMs, 200);
    await eventually(`${what}: rows arriving again`, async () => (await rig.emulator.rowCount()) > rowsBefore, timeoutMs, 200);
    return Date.now() - t0;
  }

  it('CloseStreamSignal: the stream is replaced without an error', async () => {
    const from = rig.lines.length;
    const rows = await rig.emulator.rowCount();
    await rig.emulator.fault('sendCloseSignal', 800);
    await eventually('a new stream after the close signal', () => streamsOpened(from) >= 1, 30_000);
    const ms = await recovered('close signal', rows);
    await rig.emulator.fault('sendCloseSignal', 0);
    await eventually('another new stream', () => streamsOpened(from) >= 2, 30_000);
    figures.closeSignal = { newStreams: streamsOpened(from), recoveryMs: ms };
    assert.equal(rig.nodeRedLines(from).filter((l) => /\[error\]/.test(l)).length, 0, 'a close signal is not an error');
  });

  it('acks that stop, then resume: the backlog waits in the spool and drains', async () => {
    await rig.emulator.fault('withholdAcks', true);
    const accepted0 = rig.source.accepted.size;
    await eventually('a backlog while acks are withheld', async () => (await rig.sink()).backlog > 500, 20_000, 200);
    const during = await rig.sink();
    await sleep(1000);
    const acceptedWhileWithheld = rig.source.accepted.size - accepted0;
    const t0 = Date.now();
    await rig.emulator.fault('withholdAcks', false);
    await eventually('backlog drained after acks resume', async () => (await rig.sink()).backlog < during.backlog, 30_000, 200);
    figures.withheldAcks = { backlog: during.backlog, acceptedWhileWithheld, drainStartMs: Date.now() - t0 };
    assert.ok(acceptedWhileWithheld > 0, 'the receiver must keep answering 200 while acks are late (the disk spool holds the data)');
  });

  it('slow acks (400 ms each): still 200s and deliveries', async () => {
    await rig.emulator.fault('ackDelayMs', 400);
    const t0 = Date.now();
    const rows = await rig.emulator.rowCount();
    await sleep(scaled(3000));
    const ok = rig.source.countSince(200, t0);
    await rig.emulator.fault('ackDelayMs', 0);
    assert.ok(ok > 0, 'no 200 while acks were slow');
    assert.ok((await rig.emulator.rowCount()) > rows);
    figures.slowAcks = { answers200: ok };
  });

  for (const [name, code] of [
    ['UNAVAILABLE', Grpc.UNAVAILABLE],
    ['RESOURCE_EXHAUSTED', Grpc.RESOURCE_EXHAUSTED],
  ] as const) {
    it(`${name} mid-stream and on the next creates: retried with backoff`, async () => {
      const from = rig.lines.length;
      const rows = await rig.emulator.rowCount();
      await rig.emulator.fault('refuseCreate', code, 3);
      await rig.emulator.fault('failNextIngest', code);
      await eventually(`three refused creates (${name})`, () => refusedCreates(from, name) >= 3, 30_000, 200);
      const ms = await recovered(name, rows);
      figures[name] = { refusedCreates: refusedCreates(from, name), recoveryMs: ms };
      const errors = rig.nodeRedLines(from).filter((l) => /\[error\]/.test(l));
      assert.deepEqual(errors, [], `${name} is retryable: no error reported`);
    });
  }

  it('token endpoint 500 for a while: retried with backoff, no tight loop, recovers', async () => {
    const from = rig.lines.length;
    const rows = await rig.emulator.rowCount();
    await rig.emulator.fault('tokenEndpointStatus', 500);
    await rig.emulator.fault('expireTokens');
    await rig.emulator.fault('failNextIngest', Grpc.UNAVAILABLE);
    await eventually('the sink notices', async () => (await rig.sink()).state !== 'streaming', 20_000, 100);
    const t0 = Date.now();
    const tokens0 = rig.proxy!.tokenRequests;
    const windowMs = scaled(6000);
    await sleep(windowMs);
    const requests = rig.proxy!.tokenRequests - tokens0;
    const state = await rig.sink();
    await rig.emulator.fault('tokenEndpointStatus', null);
    const ms = await recovered('token 500', rows);
    figures.token500 = { tokenRequestsInWindow: requests, windowMs: Date.now() - t0 - ms, stateDuring: state.state, recoveryMs: ms };
    assert.notEqual(state.state, 'failed', `a token endpoint 5xx is retryable: ${JSON.stringify(state)}`);
    assert.ok(requests >= 1, 'the token endpoint was never asked again');
    // backoff 0.5 s doubling to 2 s: a handful of requests in the window, not hundreds
    assert.ok(requests <= windowMs / 400, `too many token requests in ${windowMs} ms: ${requests}`);
    assert.deepEqual(rig.nodeRedLines(from).filter((l) => /\[error\]/.test(l)), []);
  });

  it('token expiry mid-stream: a fresh token, no error', async () => {
    const from = rig.lines.length;
    const rows = await rig.emulator.rowCount();
    const tokens0 = rig.proxy!.tokenRequests;
    await rig.emulator.fault('expireTokens');
    // not a close signal (after which the client refreshes anyway): the cached token is now stale
    await rig.emulator.fault('failNextIngest', Grpc.UNAVAILABLE);
    await eventually('a new stream with a fresh token', () => streamsOpened(from) >= 1, 30_000, 200);
    const ms = await recovered('token expiry', rows);
    figures.tokenExpiry = { tokenRequests: rig.proxy!.tokenRequests - tokens0, unauthenticated: refusedCreates(from, 'UNAUTHENTICATED'), recoveryMs: ms };
    assert.ok(rig.proxy!.tokenRequests > tokens0, 'no new token was fetched');
    assert.deepEqual(rig.nodeRedLines(from).filter((l) => /\[error\]/.test(l)), []);
  });

  for (const kind of ['token endpoint 401', 'revoked grant'] as const) {
    it(`${kind}: stops with a clear status, keeps the data, retries slowly, delivers once cleared`, async () => {
      const from = rig.lines.length;
      const tokenLoop = kind === 'token endpoint 401';
      if (tokenLoop) {
        await rig.emulator.fault('tokenEndpointStatus', 401);
        await rig.emulator.fault('expireTokens');
      } else {
        await rig.emulator.fault('revokeGrant', TABLE, true);
      }
      await rig.emulator.fault('failNextIngest', Grpc.UNAVAILABLE);
      const failed = await eventually(
        'the sink to stop with a final error',
        async () => {
          const s = await rig.sink();
          return s.state === 'failed' ? s : undefined;
        },
        30_000,
        200,
      );
      const expectedStatus = tokenLoop ? 'auth failed:' : 'no permission:';
      await eventually(`status "${expectedStatus}" in the log`, () => rig.nodeRedLines(from).some((l) => l.includes(expectedStatus)), 15_000, 200);
      await eventually('the final error reported as an error', () => rig.nodeRedLines(from).some((l) => /\[error\]/.test(l)), 15_000, 200);

      // the data keeps coming into the spool; attempts are paced by failedRetryInterval
      const t0 = Date.now();
      const accepted0 = rig.source.accepted.size;
      const tokens0 = rig.proxy!.tokenRequests;
      const lines0 = rig.lines.length;
      const windowMs = scaled(7000);
      await sleep(windowMs);
      const backlog = (await rig.sink()).backlog;
      const acceptedWhileFailed = rig.source.accepted.size - accepted0;
      const attempts = tokenLoop ? rig.proxy!.tokenRequests - tokens0 : refusedCreates(lines0, 'PERMISSION_DENIED');
      const maxAttempts = Math.ceil(windowMs / 1000 / FAILED_RETRY_S) + 2;

      const rowsBefore = await rig.emulator.rowCount();
      if (tokenLoop) await rig.emulator.fault('tokenEndpointStatus', null);
      else await rig.emulator.fault('revokeGrant', TABLE, false);
      const ms = await recovered(kind, rowsBefore, (FAILED_RETRY_S + 30) * 1000);
      figures[kind] = { lastError: failed.lastError, attemptsInWindow: attempts, windowMs: Date.now() - t0 - ms, acceptedWhileFailed, backlog, recoveryMs: ms };

      assert.ok(failed.lastError && failed.lastError.length > 10, `no reason in /diagnostics: ${JSON.stringify(failed)}`);
      assert.ok(acceptedWhileFailed > 0, 'the disk spool keeps taking data while the stream is failed');
      assert.ok(backlog > 0, 'the data waits in the spool');
      assert.ok(attempts >= 1, 'never retried');
      assert.ok(attempts <= maxAttempts, `${attempts} attempts in ${windowMs} ms: a tight retry loop`);
    });
  }

  it('every event answered 200 reached the table', async () => {
    const v = await rig.verify();
    report('protocol faults', { ...v, missingSample: undefined, statuses: rig.source.statuses, ...figures });
    rig.expectComplete(v, 2000);
  });
});
