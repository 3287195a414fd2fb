import { Backoff } from '../backoff';

export { Backoff, type BackoffOptions } from '../backoff';

/** The first retry after an authentication failure: soon enough for a secret rotation that is still propagating. */
export const AUTH_RETRY_INITIAL_MS = 2000;

/**
 * Delays between new streams after an authentication failure (401/403): 2 s, 4 s, 8 s… up to
 * `maxMs` (the node's failedRetryInterval), so a transient refusal costs seconds, a lasting one
 * no tight loop.
 */
export function authRetryBackoff(maxMs: number, random?: () => number): Backoff {
  return new Backoff({ initialMs: Math.min(AUTH_RETRY_INITIAL_MS, maxMs), maxMs, multiplier: 2, jitter: 0.2 }, random);
}

/** While a retry waits longer than this, the connection is probed (see waitForRetry). */
export const PROBE_AFTER_MS = 1500;
/** Mean interval between probes; each is jittered ±25 % so that many clients do not probe in step. */
export const PROBE_INTERVAL_MS = 1000;

/**
 * Waits `delayMs` before a retry, but ends early once `ready()` says the service is reachable
 * again: a long backoff (cap 30 s) then costs no extra downtime after an outage, while the
 * probe itself costs no stream and no token. Only for failures where the connection itself was
 * down (a refusal on a working connection would otherwise retry at probe speed). Returns the cancel.
 */
export function waitForRetry(delayMs: number, ready: (() => boolean) | undefined, go: () => void, random: () => number = Math.random): () => void {
  let probe: NodeJS.Timeout | undefined;
  let done = false;
  const fire = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearTimeout(probe);
    go();
  };
  const timer = setTimeout(fire, delayMs);
  const schedule = (): void => {
    probe = setTimeout(() => {
      if (done) return;
      if (ready!()) fire();
      else schedule();
    }, Math.round(PROBE_INTERVAL_MS * (0.75 + 0.5 * random())));
  };
  if (ready && delayMs > PROBE_AFTER_MS) schedule();
  return () => {
    done = true;
    clearTimeout(timer);
    clearTimeout(probe);
  };
}
