/**
 * Retry timing at the edges: authentication failures are retried from a few seconds up to the
 * failed-retry interval; a retry after a connection outage ends as soon as the probe sees the
 * service again, and never probes faster than about once a second.
 */
import assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { AUTH_RETRY_INITIAL_MS, authRetryBackoff, PROBE_AFTER_MS, waitForRetry } from '../../../lib/zerobus/backoff';
import { isAuthFailure } from '../../../lib/zerobus/auth';

describe('retry timing: authentication failures and outages', () => {
  it('retries an authentication failure after 2 s, then doubling, up to the failed-retry interval', () => {
    const b = authRetryBackoff(60_000, () => 0.5); // jitter at its middle
    const delays = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(delays, [AUTH_RETRY_INITIAL_MS, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    b.reset();
    assert.equal(b.next(), AUTH_RETRY_INITIAL_MS);
    assert.equal(authRetryBackoff(1000, () => 0.5).next(), 1000, 'never longer than the interval');
    assert.ok(['TOKEN_REJECTED', 'UNAUTHENTICATED', 'PERMISSION_DENIED'].every(isAuthFailure));
    assert.ok(!isAuthFailure('NOT_FOUND') && !isAuthFailure('TOKEN_UNAVAILABLE'));
  });

  it('ends a long wait once the probe reports the service ready, probing about once a second', async () => {
    let probes = 0;
    let readyAt = Infinity;
    const start = Date.now();
    const waited = await new Promise<number>((resolve) => {
      readyAt = start + 2500;
      waitForRetry(30_000, () => (probes++, Date.now() >= readyAt), () => resolve(Date.now() - start));
    });
    assert.ok(waited >= 2500 && waited < 4500, `resumed ${waited} ms after the start, the service was back at 2500 ms`);
    assert.ok(probes >= 2 && probes <= 5, `${probes} probes in ${waited} ms`);
  });

  it('does not probe short waits, and a cancelled wait never fires', async () => {
    let probes = 0;
    const fired = await new Promise<boolean>((resolve) => {
      waitForRetry(PROBE_AFTER_MS - 500, () => (probes++, true), () => resolve(true));
    });
    assert.ok(fired);
    assert.equal(probes, 0);
    const clock = sinon.useFakeTimers();
    try {
      let late = false;
      const cancel = waitForRetry(50, () => true, () => (late = true));
      cancel();
      clock.tick(60_000); // past the delay and every probe
      assert.equal(late, false);
    } finally {
      clock.restore();
    }
  });
});
