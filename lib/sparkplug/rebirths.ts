/**
 * Rebirth requests and seq tracking of the Sparkplug host: at most one NCMD rebirth per edge node
 * per rebirthMinIntervalMs, and the per-node seq counter (shared with its devices, 255 wraps to 0)
 * whose gaps either call for a rebirth at once or wait reorderTimeoutMs for the missing messages.
 */
import type { RawPayload } from './proto';
import type { EdgeNode, HostAction, HostOptions, HostResult, IssueCode, RebirthAction } from './host-model';
import * as codec from './codec';
import * as int64 from './int64';
import * as proto from './proto';
import { ncmdTopic } from './topic';
import { EdgeNodeTable } from './edge-nodes';

// bound once: per-access export getters (as tsx/esbuild emit) cost on a per-message path
const { encodeRebirthCommand } = codec;
const { uint64ToNumber } = int64;
const { has } = proto;

export class RebirthTracker extends EdgeNodeTable {
  private readonly lastRebirth = new Map<string, number>();
  private readonly rebirthEnabled: boolean;
  private readonly rebirthMinIntervalMs: number;
  private readonly reorderTimeoutMs: number;
  protected closed = false;

  constructor(opts: HostOptions) {
    super(opts);
    this.rebirthEnabled = opts.rebirthEnabled ?? true;
    this.rebirthMinIntervalMs = opts.rebirthMinIntervalMs ?? 5000;
    this.reorderTimeoutMs = opts.reorderTimeoutMs ?? 0;
  }

  protected rebirth(result: { actions: HostAction[] }, group: string, edge: string, reason: IssueCode, now: number): void {
    const action = this.rebirthAction(group, edge, reason, now);
    if (action) result.actions.push(action);
  }

  protected rebirthAction(group: string, edge: string, reason: IssueCode, now: number): RebirthAction | undefined {
    if (!this.rebirthEnabled || this.closed) return undefined;
    const key = `${group}/${edge}`;
    const last = this.lastRebirth.get(key);
    if (last !== undefined && now - last < this.rebirthMinIntervalMs && now >= last) return undefined;
    this.lastRebirth.delete(key);
    this.lastRebirth.set(key, now);
    if (this.lastRebirth.size > this.maxEdgeNodes * 2) {
      this.lastRebirth.delete(this.lastRebirth.keys().next().value as string);
    }
    return { type: 'rebirth', group, edge, topic: ncmdTopic(group, edge), payload: encodeRebirthCommand(now), reason };
  }

  /** Sequence check (one counter per edge node, shared with its devices, 255 wraps to 0). */
  protected checkSeq(node: EdgeNode, raw: RawPayload, result: HostResult): boolean {
    if (!has(raw, 'seq')) return true; // non-conformant sender; nothing to compare
    const seq = uint64ToNumber(raw.seq) & 255;
    const expected = (node.seq + 1) & 255;
    if (seq === expected) {
      node.seq = seq;
      return true;
    }
    if (node.missingSeqs.delete(seq)) {
      // a late message filled a gap within the reorder window
      if (node.missingSeqs.size === 0) this.clearReorder(node);
      return true;
    }
    const message = `seq ${seq} from ${node.sourceSystem} where ${expected} was expected`;
    const ahead = (seq - expected) & 255;
    node.seq = seq;
    if (this.reorderTimeoutMs > 0 && ahead < 128) {
      for (let s = expected; s !== seq; s = (s + 1) & 255) node.missingSeqs.add(s);
      if (!node.reorderTimer) {
        node.reorderTimer = setTimeout(() => this.reorderExpired(node, message), this.reorderTimeoutMs);
        node.reorderTimer.unref?.();
      }
      return true;
    }
    result.issues.push({ code: 'SEQ_GAP', message });
    return false;
  }

  private reorderExpired(node: EdgeNode, message: string): void {
    node.reorderTimer = undefined;
    if (node.missingSeqs.size === 0 || this.closed) return;
    node.missingSeqs.clear();
    const action = this.rebirthAction(node.group, node.edge, 'SEQ_GAP', Date.now());
    if (action) this.opts.onDeferredAction?.(action, { code: 'SEQ_GAP', message: `${message} (not received within the reorder timeout)` });
  }
}
