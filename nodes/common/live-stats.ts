import type { Node, NodeAPI } from 'node-red';

/** What a node shows in the editor's "Zerobus" sidebar. No secrets: it goes to every editor. */
export interface LiveStatsPayload {
  id: string;
  type: string;
  name: string;
  /** machine state: streaming, reconnecting, failed, listening, connected, … */
  state: string;
  /** events (sparkplug in: MQTT messages) per second entering the node */
  eventsPerSec: number;
  ackedPerSec?: number;
  /** running totals behind the rates: the sidebar averages them to show a slow trickle per minute */
  totalIn?: number;
  totalAcked?: number;
  inFlight?: number;
  backlog?: number;
  latencyP50?: number;
  latencyP99?: number;
  reconnects?: number;
  lastError?: string;
  /** a node writing over several Zerobus streams (zerobus-out): one entry per stream, by index */
  streams?: LiveStreamFigures[];
  /** a few extra figures the node wants to show, label → value */
  extra?: Record<string, string | number>;
  at: number;
}

/** One Zerobus stream of a node, as its sidebar card lists it. */
export interface LiveStreamFigures {
  /** 0-based */
  index: number;
  state: string;
  inFlight: number;
  ackedPerSec: number;
  /** being closed (streams: auto): it finishes what it holds */
  retiring: boolean;
}

export const LIVE_STATS_TOPIC = 'zerobus/stats';

/**
 * Publishes a node's figures to the editor over RED.comms at most once a second, retained so
 * that an editor opened later sees the latest figures at once. `close()` withdraws the node.
 */
export class LiveStats {
  private latest: LiveStatsPayload | (() => Omit<LiveStatsPayload, 'at'>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly topic: string;
  private published = false;
  private closed = false;

  constructor(private readonly RED: NodeAPI, node: Pick<Node, 'id'>, private readonly intervalMs = 1000) {
    this.topic = `${LIVE_STATS_TOPIC}/${node.id}`;
  }

  /** `stats` may be a function: called only when the figures are actually sent (≤ 1/s). */
  publish(stats: Omit<LiveStatsPayload, 'at'> | (() => Omit<LiveStatsPayload, 'at'>)): void {
    if (this.closed) return; // a late refresh must not bring a closed node back into the sidebar
    this.latest = typeof stats === 'function' ? stats : { ...stats, at: Date.now() };
    if (this.timer) return;
    this.flush();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.latest) this.flush();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private flush(): void {
    const latest = this.latest;
    this.latest = undefined;
    const data = typeof latest === 'function' ? { ...latest(), at: Date.now() } : latest;
    if (!data) return;
    this.published = true;
    this.RED.comms.publish(this.topic, data as unknown as object, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = undefined;
    // a retained empty message removes the node from editors' sidebars
    if (this.published) this.RED.comms.publish(this.topic, { removed: true } as object, true);
  }
}
