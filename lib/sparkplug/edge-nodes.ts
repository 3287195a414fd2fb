/**
 * The Sparkplug host's per-edge state and its limits: the edge nodes it tracks (least recently
 * born first), the metric count and estimated bytes they hold against maxMetrics and
 * maxStateBytes, and the eviction of offline nodes to make room. The host's base class, so that
 * the per-metric paths reach this state without an extra hop.
 */
import type { TagValue } from '../tags/event';
import type { Ctx, EdgeNode, HostOptions, HostStats, MetricDef } from './host-model';
import * as budget from './state-budget';

// bound once: per-access export getters (as tsx/esbuild emit) cost on a per-value path
const { DEFAULT_MAX_STATE_BYTES, valueBytes } = budget;

export class EdgeNodeTable {
  protected readonly nodes = new Map<string, EdgeNode>();
  protected readonly maxEdgeNodes: number;
  protected readonly maxMetrics: number;
  protected readonly maxStateBytes: number;
  protected metricCount = 0;
  protected stateBytes = 0;
  protected evicted = 0;
  protected refused = 0;

  constructor(protected readonly opts: HostOptions) {
    this.maxEdgeNodes = opts.maxEdgeNodes ?? 10_000;
    this.maxMetrics = opts.maxMetrics ?? 1_000_000;
    this.maxStateBytes = opts.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  }

  stats(): HostStats {
    let edgeNodesOnline = 0;
    let devicesOnline = 0;
    for (const node of this.nodes.values()) {
      if (!node.online) continue;
      edgeNodesOnline++;
      for (const d of node.devices.values()) if (d.online) devicesOnline++;
    }
    return {
      edgeNodes: this.nodes.size, edgeNodesOnline, devicesOnline, metrics: this.metricCount,
      stateBytes: this.stateBytes, evicted: this.evicted, refused: this.refused,
    };
  }

  protected clearReorder(node: EdgeNode): void {
    if (node.reorderTimer) clearTimeout(node.reorderTimer);
    node.reorderTimer = undefined;
    node.missingSeqs.clear();
  }

  protected evictOfflineNode(): boolean {
    for (const [key, node] of this.nodes) {
      if (!node.online) {
        this.metricCount -= node.size;
        this.stateBytes -= node.bytes;
        this.evicted++;
        this.clearReorder(node);
        this.nodes.delete(key);
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a birth replacing state of (oldSize, oldBytes) by (size, bytes) fits the limits,
   * after forgetting offline edge nodes (least recently born first); the refusal reason if not.
   */
  protected makeRoom(oldSize: number, size: number, oldBytes: number, bytes: number): string | undefined {
    const over = (): boolean =>
      this.metricCount - oldSize + size > this.maxMetrics || this.stateBytes - oldBytes + bytes > this.maxStateBytes;
    while (over() && this.evictOfflineNode()) { /* evicted one */ }
    if (!over()) return undefined;
    this.refused++;
    return this.metricCount - oldSize + size > this.maxMetrics
      ? `more than ${this.maxMetrics} metrics`
      : `more than ${this.maxStateBytes} bytes of edge node state`;
  }

  protected account(oldSize: number, size: number, oldBytes: number, bytes: number): void {
    this.metricCount += size - oldSize;
    this.stateBytes += bytes - oldBytes;
  }

  /** Keeps `value` as the last value of a tag, within the state budget (see maxStateBytes). */
  protected remember(ctx: Ctx, def: MetricDef, value: TagValue): void {
    const delta = valueBytes(value) - valueBytes(def.last);
    if (ctx.birth || delta === 0 || def.unkept) {
      if (!def.unkept) ctx.scope.bytes += delta;
      def.last = value;
      return;
    }
    if (delta > 0 && this.stateBytes + delta > this.maxStateBytes) {
      // emitted, but a stale event after a death will carry null rather than this value
      this.refused++;
      ctx.issues.push({ code: 'LIMIT', message: `more than ${this.maxStateBytes} bytes of edge node state: the last value of ${def.tagPath} is not kept` });
      this.rememberWithin(ctx, -valueBytes(def.last));
      def.last = null;
      return;
    }
    this.rememberWithin(ctx, delta);
    def.last = value;
  }

  private rememberWithin(ctx: Ctx, delta: number): void {
    ctx.scope.bytes += delta;
    if (ctx.scope !== ctx.node) ctx.node.bytes += delta;
    this.stateBytes += delta;
  }
}
