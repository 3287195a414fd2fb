/**
 * The hand-over at a stop: nodes of this package that hold events in memory (batch buffers,
 * debounce windows) append them straight to the spool of a zerobus-out when they close, so a
 * restart, a `systemctl stop` or a full deploy loses nothing that was answered 200.
 *
 * Node-RED closes every node of a stop at once: it calls all close handlers in one synchronous
 * pass, then waits for them. So a sink cannot tell from its own close whether its upstream
 * holders have closed yet. The protocol instead:
 *   - a sink stays registered here as a hand-over target from its creation until its spool is
 *     closed (it refuses ordinary input as soon as it closes, but not hand-overs);
 *   - a holder, in its close handler, hands its events to its targets and registers that work
 *     with `track()` before its handler returns;
 *   - a sink's close first waits one macrotask (every close handler of this stop has run, so
 *     every hand-over of this stop is tracked), then for the tracked hand-overs, bounded, and
 *     only then drains and closes its spool.
 */

/** What a sink takes at a stop: resolves with the number of events made durable (or kept for sending). */
export type HandoverTarget = (items: unknown[]) => Promise<number>;

export class HandoverBoard {
  private readonly targets = new Map<string, HandoverTarget>();
  private readonly pending = new Set<Promise<unknown>>();

  /** Registers a sink by node id; returns the function that removes it. */
  register(id: string, target: HandoverTarget): () => void {
    this.targets.set(id, target);
    return () => {
      if (this.targets.get(id) === target) this.targets.delete(id);
    };
  }

  target(id: string): HandoverTarget | undefined {
    return this.targets.get(id);
  }

  /** A holder's hand-over work; sinks closing in the same stop wait for it. */
  track(work: Promise<unknown>): void {
    const entry = work.catch(() => undefined);
    this.pending.add(entry);
    void entry.finally(() => this.pending.delete(entry));
  }

  /** Resolves once the hand-overs of holders closing in the same stop are done, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }
}

export const handoverBoard = new HandoverBoard();
