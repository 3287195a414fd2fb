/**
 * Sparkplug B host application state machine (Sparkplug 3.0 chapter 5), free of MQTT: it takes
 * (topic, payload bytes, receipt time) and returns tag events plus actions to perform (rebirth
 * requests). One instance per subscriber, so each can have its own tag path template.
 *
 * What it emits (docs/DESIGN.md §3 tag events): every metric of NBIRTH/DBIRTH/NDATA/DDATA with a value
 * (null for is_null), template instances expanded into `instance/member` tags (and
 * `instance/Parameters/<name>` for parameters, optional), and on NDEATH/DDEATH/connection loss
 * (or an NBIRTH of a new session whose predecessor's death was missed) every tag of the
 * node/device again with its last value and quality Bad_Stale. Not emitted:
 * the `bdSeq` metric, `Node Control/*` metrics, template definitions, STATE messages, commands
 * (NCMD/DCMD), and — unless `includeTransient` — metrics flagged is_transient.
 */
import type { TagEvent } from '../tags/event';
import { QUALITY_STALE } from '../tags';
import * as codec from './codec';
import { SparkplugDecodeError } from './codec';
import * as int64 from './int64';
import * as proto from './proto';
import type { RawPayload } from './proto';
import { parseTopic } from './topic';
import { newScope, type Ctx, type EdgeNode, type HostOptions, type HostResult, type Scope } from './host-model';
import { MetricHandler } from './host-metrics';

export type {
  HostOptions, RebirthAction, HostAction, IssueCode, HostIssue, HostResult, HostStats,
} from './host-model';
export { DEFAULT_MAX_STATE_BYTES } from './state-budget';

// bound once: per-access export getters (as tsx/esbuild emit) cost on a per-message path
const { uint64ToNumber } = int64;
const { has } = proto;
const { decodeRawPayload, metricValue, ownDataType } = codec;

const BDSEQ = 'bdSeq';

/**
 * One host application: message dispatch and the life of edge nodes and devices (births,
 * deaths, connection loss). Built in layers, one concept each, on one object so that no metric
 * pays an extra hop: per-edge state and its byte budget (edge-nodes.ts), rebirth requests and seq
 * tracking (rebirths.ts), metric handling and tag events (host-metrics.ts).
 */
export class SparkplugHost extends MetricHandler {
  constructor(opts: HostOptions = {}) {
    super(opts);
  }

  /** Handles one MQTT message. Never throws for bad input: see `error` and `issues`. */
  handleMessage(topic: string, payload: Uint8Array, receivedAt: number = Date.now()): HostResult {
    const parsed = parseTopic(topic);
    const result: HostResult = { topic: parsed, events: [], actions: [], issues: [] };
    if (!parsed) {
      result.issues.push({ code: 'NOT_SPARKPLUG', message: `"${topic}" is not a Sparkplug B topic` });
      return result;
    }
    // STATE is JSON from hosts; NCMD/DCMD are commands from hosts (maybe us): no tag data
    if (parsed.kind === 'state' || parsed.type === 'NCMD' || parsed.type === 'DCMD') return result;

    let raw: RawPayload;
    try {
      raw = decodeRawPayload(payload, this.opts.decode);
    } catch (err) {
      result.error = err instanceof SparkplugDecodeError ? err : new SparkplugDecodeError(String(err));
      result.issues.push({ code: 'MALFORMED', message: result.error.message });
      this.rebirth(result, parsed.group, parsed.edge, 'MALFORMED', receivedAt);
      return result;
    }
    const key = `${parsed.group}/${parsed.edge}`;
    switch (parsed.type) {
      case 'NBIRTH': this.nbirth(result, parsed.group, parsed.edge, key, raw, receivedAt); break;
      case 'NDEATH': this.ndeath(result, key, raw, receivedAt); break;
      default: this.deviceOrData(result, parsed.group, parsed.edge, key, parsed.type, parsed.device, raw, receivedAt);
    }
    return result;
  }

  /** The broker connection was lost: every tag of every online node goes stale at `at`. */
  connectionLost(at: number = Date.now()): { group: string; edge: string; events: TagEvent[] }[] {
    const out = [];
    for (const node of this.nodes.values()) {
      if (!node.online) continue;
      const events: TagEvent[] = [];
      this.killNode(node, at, events);
      out.push({ group: node.group, edge: node.edge, events });
    }
    return out;
  }

  /** Stops reorder timers; the instance must not be used afterwards. */
  close(): void {
    this.closed = true;
    for (const node of this.nodes.values()) this.clearReorder(node);
  }

  private payloadTime(raw: RawPayload, receivedAt: number): number {
    return has(raw, 'timestamp') ? uint64ToNumber(raw.timestamp) : receivedAt;
  }

  private nbirth(result: HostResult, group: string, edge: string, key: string, raw: RawPayload, receivedAt: number): void {
    let node = this.nodes.get(key);
    if (node) {
      this.nodes.delete(key); // re-inserted below: Map order = least recently born first
    } else if (this.nodes.size >= this.maxEdgeNodes && !this.evictOfflineNode()) {
      this.refused++;
      result.issues.push({ code: 'LIMIT', message: `more than ${this.maxEdgeNodes} edge nodes: ${key} is not tracked` });
      return;
    }
    // the devices of the previous session are forgotten: each comes back with its own DBIRTH
    const fresh: EdgeNode = {
      ...newScope(undefined), group, edge, sourceSystem: key, bdSeq: undefined, seq: 0, devices: new Map(),
      definitions: new Map(), missingSeqs: new Set(), reorderTimer: undefined,
    };
    if (node) this.clearReorder(node);
    const ctx = this.ctx(fresh, fresh, raw, receivedAt, true);
    this.birthMetrics(ctx, raw.metrics ?? [], receivedAt);
    const refusal = this.makeRoom(node?.size ?? 0, fresh.size, node?.bytes ?? 0, fresh.bytes);
    if (refusal) {
      if (node) this.nodes.set(key, node);
      result.issues.push({ code: 'LIMIT', message: `${refusal}: NBIRTH of ${key} refused` });
      return;
    }
    this.account(node?.size ?? 0, fresh.size, node?.bytes ?? 0, fresh.bytes);
    // a new session (other bdSeq) while the old one looked alive: its death was missed, so its
    // tags go stale first (a rebirth on the same connection keeps the bdSeq and stales nothing)
    const missedDeath: TagEvent[] = [];
    if (node?.online && node.bdSeq !== fresh.bdSeq) this.killNode(node, receivedAt, missedDeath);
    node = fresh;
    node.online = true;
    node.seq = has(raw, 'seq') ? uint64ToNumber(raw.seq) & 255 : 0;
    this.nodes.set(key, node);
    this.finish(result, ctx, receivedAt);
    if (missedDeath.length) result.events = missedDeath.concat(result.events);
  }

  private ndeath(result: HostResult, key: string, raw: RawPayload, receivedAt: number): void {
    const node = this.nodes.get(key);
    if (!node || !node.online) return;
    const bd = (raw.metrics ?? []).find((m) => m.name === BDSEQ);
    let bdSeq: string | undefined;
    try {
      bdSeq = bd ? String(metricValue(bd, ownDataType(bd))) : undefined;
    } catch {
      bdSeq = undefined; // an unreadable bdSeq cannot prove the death is late
    }
    if (bdSeq !== undefined && node.bdSeq !== undefined && bdSeq !== node.bdSeq) {
      result.issues.push({
        code: 'LATE_DEATH',
        message: `NDEATH of ${key} with bdSeq ${bdSeq} ignored: the current session has bdSeq ${node.bdSeq}`,
      });
      return;
    }
    // the Will's timestamp is from CONNECT time: death is dated by its receipt
    this.killNode(node, receivedAt, result.events);
  }

  private killNode(node: EdgeNode, at: number, events: TagEvent[]): void {
    node.online = false;
    this.clearReorder(node);
    this.staleScope(node, node, at, events);
    for (const d of node.devices.values()) {
      if (d.online) this.staleScope(node, d, at, events);
      d.online = false;
    }
  }

  private staleScope(node: EdgeNode, scope: Scope, at: number, events: TagEvent[]): void {
    scope.online = false;
    for (const def of scope.tags) events.push(this.event(node, def, def.last, QUALITY_STALE, at, false));
  }

  private deviceOrData(
    result: HostResult, group: string, edge: string, key: string, type: string, device: string | undefined,
    raw: RawPayload, receivedAt: number,
  ): void {
    const node = this.nodes.get(key);
    if (!node || !node.online) {
      result.issues.push({ code: 'BEFORE_BIRTH', message: `${type} from ${key} before its NBIRTH` });
      this.rebirth(result, group, edge, 'BEFORE_BIRTH', receivedAt);
      return;
    }
    const seqOk = this.checkSeq(node, raw, result);

    let scope: Scope = node;
    if (device !== undefined) {
      const existing = node.devices.get(device);
      if (type === 'DBIRTH') {
        scope = newScope(device);
      } else if (!existing || !existing.online) {
        if (type === 'DDEATH') {
          result.issues.push({ code: 'UNKNOWN_DEVICE', message: `DDEATH of ${key}/${device}, which is not online` });
          if (!seqOk) this.rebirth(result, group, edge, 'SEQ_GAP', receivedAt);
          return;
        }
        result.issues.push({ code: 'BEFORE_BIRTH', message: `${type} from ${key}/${device} before its DBIRTH` });
        this.rebirth(result, group, edge, 'BEFORE_BIRTH', receivedAt);
        return;
      } else {
        scope = existing;
      }
    }
    const ctx = this.ctx(node, scope, raw, receivedAt, type === 'DBIRTH');
    if (!seqOk) ctx.rebirthReason = 'SEQ_GAP';
    if (type === 'DBIRTH') {
      const old = node.devices.get(device as string);
      this.birthMetrics(ctx, raw.metrics ?? [], receivedAt);
      const oldSize = old?.size ?? 0;
      const oldBytes = old?.bytes ?? 0;
      const refusal = this.makeRoom(oldSize, scope.size, oldBytes, scope.bytes);
      if (refusal) {
        result.issues.push({ code: 'LIMIT', message: `${refusal}: DBIRTH of ${key}/${device} refused` });
        return;
      }
      this.account(oldSize, scope.size, oldBytes, scope.bytes);
      // a node's size and bytes count its devices, for eviction accounting
      node.size += scope.size - oldSize;
      node.bytes += scope.bytes - oldBytes;
      scope.online = true;
      node.devices.set(device as string, scope);
    } else if (type === 'DDEATH') {
      this.staleScope(node, scope, ctx.payloadTs, ctx.events);
    } else {
      const metrics = raw.metrics ?? [];
      for (let i = 0; i < metrics.length; i++) this.dataMetric(ctx, metrics[i], scope, receivedAt);
    }
    this.finish(result, ctx, receivedAt);
  }

  private ctx(node: EdgeNode, scope: Scope, raw: RawPayload, receivedAt: number, birth = false): Ctx {
    return {
      node, scope, payloadTs: this.payloadTime(raw, receivedAt), events: [], issues: [],
      rebirthReason: undefined, error: undefined, birth,
    };
  }

  private finish(result: HostResult, ctx: Ctx, receivedAt: number): void {
    result.events = ctx.events;
    for (const i of ctx.issues) result.issues.push(i);
    if (ctx.error) result.error = ctx.error;
    if (ctx.rebirthReason) this.rebirth(result, ctx.node.group, ctx.node.edge, ctx.rebirthReason, receivedAt);
  }
}
