import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { LiveStats } from './live-stats';
import { StatusThrottle } from './status';

/**
 * What every node of this package keeps up while it runs — a throttled status, its figures in
 * the editor's sidebar, and periodic timers (status refresh, stats messages) — and takes down
 * at close in one place, so no node forgets a timer or leaves its figures in the sidebar.
 */
export class NodeUpkeep {
  readonly status: StatusThrottle;
  /** the node's sidebar figures (a node without figures never publishes, so leaves no trace) */
  readonly live: LiveStats;
  private readonly timers: NodeJS.Timeout[] = [];
  private quieted = false;

  constructor(RED: NodeAPI, node: Node) {
    this.status = new StatusThrottle(node);
    this.live = new LiveStats(RED, node);
  }

  /** Runs `fn` every `ms` until close; the timer does not keep the process alive. */
  every(ms: number, fn: () => void): void {
    if (this.quieted) return;
    const timer = setInterval(fn, ms);
    timer.unref?.();
    this.timers.push(timer);
  }

  /** First step of a close: timers stop and the node leaves the sidebar; the status still shows. */
  quiet(): void {
    this.quieted = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    this.live.close();
  }

  /** Last step of a close: everything stops; `final` is the status left on the node ({} clears it). */
  end(final?: NodeStatus): void {
    this.quiet();
    this.status.close(final);
  }
}
