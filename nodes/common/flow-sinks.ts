import type { Node, NodeAPI } from 'node-red';
import { sinkRegistry, type SinkState } from '../../lib/delivery/sinks';

/** How long the list of sink ids reachable by wires is reused (flows change only on deploy). */
const REACHABLE_TTL_MS = 1000;

/**
 * The zerobus-out nodes this node's events can reach by following wires (through batch, change,
 * function… nodes), read fresh from the sink registry on every call.
 */
export class ReachableSinks {
  private ids: string[] = [];
  private at = -Infinity;

  constructor(
    private readonly RED: NodeAPI,
    private readonly start: Node,
  ) {}

  states(): SinkState[] {
    const now = Date.now();
    if (now - this.at > REACHABLE_TTL_MS) {
      const walk = this.walk();
      this.ids = walk.ids;
      // while the flow is still starting, nodes downstream may not exist yet: walk again next time
      this.at = walk.complete ? now : -Infinity;
    }
    const out: SinkState[] = [];
    for (const id of this.ids) {
      const s = sinkRegistry.get(id);
      if (s) out.push(s);
    }
    return out;
  }

  /** The nodes of `type` between this node and its sinks (by wires), e.g. zerobus-batch. */
  nodesOfType(type: string): Node[] {
    return this.walk().passed.filter((n) => n.type === type);
  }

  /**
   * True when this node's messages can reach no zerobus-out at all: every path by wires ends
   * without one, and none leaves through a link or a subflow (whose routes wires do not show).
   */
  leadsNowhere(): boolean {
    const walk = this.walk();
    return walk.complete && !walk.opaque && walk.ids.length === 0;
  }

  private walk(): { ids: string[]; complete: boolean; opaque: boolean; passed: Node[] } {
    const found: string[] = [];
    const passed: Node[] = [];
    let complete = true;
    let opaque = false;
    const seen = new Set<string>([this.start.id]);
    const queue: string[] = wiresOf(this.start);
    while (queue.length) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      if (sinkRegistry.get(id)) {
        found.push(id); // a sink's own output carries receipts, not our events: stop here
        continue;
      }
      const next = this.RED.nodes.getNode(id);
      if (!next) complete = false;
      else {
        if (OPAQUE_TYPE.test(next.type)) opaque = true;
        passed.push(next);
        queue.push(...wiresOf(next));
      }
    }
    return { ids: found, complete, opaque, passed };
  }
}

/** nodes whose messages may travel on by other means than their wires (link targets, subflow internals): no verdict past them */
const OPAQUE_TYPE = /^(link out|link call|subflow:)/;

function wiresOf(node: Node): string[] {
  const wires = (node as Node & { wires?: unknown }).wires;
  if (!Array.isArray(wires)) return [];
  return wires.flat().filter((w): w is string => typeof w === 'string');
}
