/**
 * The one way tests wait for a condition they cannot be told about by an event: polls `probe`
 * until it returns a truthy value, and returns that value. A probe that throws is tried again
 * (a server still starting refuses connections); at the deadline the error names what was
 * awaited and the probe's last error. Prefer waiting on an event or a promise where there is one;
 * never assert that something did NOT happen after a wait (use fake timers or an event instead).
 */
export interface WaitOptions {
  /** give up after this long (default 5 s) */
  timeoutMs?: number;
  /** pause between two probes (default 10 ms) */
  everyMs?: number;
}

export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 5_000, everyMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
