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
import type { TagEvent, TagValue } from '../tags/event';
import { QUALITY_GOOD, QUALITY_STALE, type Quality } from '../tags';
import * as codec from './codec';
import { SparkplugDecodeError, type AliasKey, type DecodeOptions } from './codec';
import * as datatypes from './datatypes';
import * as int64 from './int64';
import * as properties from './properties';
import * as proto from './proto';
import type { RawMetric, RawPayload, RawTemplate } from './proto';
import { compileTagPathTemplate, type TagPathBuilder } from './tag-path';
import { ncmdTopic, parseTopic, type SparkplugTopic } from './topic';
import { MAX_NESTING_DEPTH } from './limits';
import { basicValue } from './values';

// Hot-path imports are bound once to locals: per-access export getters (as tsx/esbuild emit) cost
// measurably when every metric of every message goes through them.
const { DataType, ignitionDataType } = datatypes;
const { uint64ToNumber } = int64;
const { metricQuality } = properties;
const { has } = proto;
const { aliasKey, decodeRawPayload, encodeRebirthCommand, metricValue, ownDataType } = codec;

export interface HostOptions {
  /** default `[MQTT Engine]Edge Nodes/{group}/{edge}/{device}/{metric}` */
  tagPathTemplate?: string;
  /** request rebirths on gaps, unknown metrics, data before birth, malformed payloads (default true) */
  rebirthEnabled?: boolean;
  /** at most one rebirth request per edge node within this time (default 5000 ms) */
  rebirthMinIntervalMs?: number;
  /** wait this long for a missing seq before requesting a rebirth; 0 = at once (default) */
  reorderTimeoutMs?: number;
  /** emit metrics flagged is_transient (default false: they are not meant for historians) */
  includeTransient?: boolean;
  /** emit template parameters as `instance/Parameters/<name>` tags (default true) */
  templateParameters?: boolean;
  /** edge nodes tracked at once (default 10,000); the oldest offline one is forgotten first */
  maxEdgeNodes?: number;
  /** metric definitions kept across all edge nodes and devices (default 1,000,000) */
  maxMetrics?: number;
  /**
   * bytes of per-edge state (metric definitions, last values, template definitions, estimated)
   * kept across all edge nodes (default 256 MiB): births beyond it evict offline nodes first,
   * else are refused; a data value that does not fit is not remembered for stale events
   */
  maxStateBytes?: number;
  decode?: DecodeOptions;
  /** called when a reorder timeout elapses without the missing seq (rebirth request) */
  onDeferredAction?: (action: RebirthAction, issue: HostIssue) => void;
}

export interface RebirthAction {
  type: 'rebirth';
  group: string;
  edge: string;
  /** `spBv1.0/<group>/NCMD/<edge>`, to publish with QoS 0, retain false */
  topic: string;
  payload: Buffer;
  reason: IssueCode;
}
export type HostAction = RebirthAction;

export type IssueCode =
  | 'MALFORMED' | 'NOT_SPARKPLUG' | 'SEQ_GAP' | 'UNKNOWN_ALIAS' | 'UNKNOWN_METRIC' | 'BEFORE_BIRTH'
  | 'LATE_DEATH' | 'UNKNOWN_DEVICE' | 'LIMIT';

export interface HostIssue {
  code: IssueCode;
  message: string;
}

export interface HostResult {
  topic: SparkplugTopic | undefined;
  events: TagEvent[];
  actions: HostAction[];
  issues: HostIssue[];
  /** set when the payload (or a metric value) could not be decoded; the message is skipped */
  error?: SparkplugDecodeError;
}

export interface HostStats {
  edgeNodes: number;
  edgeNodesOnline: number;
  devicesOnline: number;
  metrics: number;
  /** estimated bytes of per-edge state (see HostOptions.maxStateBytes) */
  stateBytes: number;
  /** offline edge nodes forgotten to make room for new births */
  evicted: number;
  /** births refused and values not remembered because a limit was reached */
  refused: number;
}

type Role = 'tag' | 'bdSeq' | 'control' | 'definition' | 'template';

interface MetricDef {
  name: string;
  role: Role;
  datatype: number;
  ignitionType: string | undefined;
  tagPath: string;
  last: TagValue;
  /** a one-off definition (a metric its birth did not announce): its value is not kept */
  unkept?: true;
  /** template instances: member name → definition */
  members?: Map<string, MetricDef>;
}

interface Scope {
  device: string | undefined;
  online: boolean;
  byName: Map<string, MetricDef>;
  byAlias: Map<AliasKey, MetricDef>;
  /** leaf tags (what goes stale on death) */
  tags: MetricDef[];
  size: number;
  /** estimated bytes of this scope's state; a node's counts its devices too */
  bytes: number;
}

interface EdgeNode extends Scope {
  group: string;
  edge: string;
  sourceSystem: string;
  bdSeq: string | undefined;
  seq: number;
  devices: Map<string, Scope>;
  definitions: Map<string, RawTemplate>;
  missingSeqs: Set<number>;
  reorderTimer: NodeJS.Timeout | undefined;
}

interface Ctx {
  node: EdgeNode;
  scope: Scope;
  payloadTs: number;
  events: TagEvent[];
  issues: HostIssue[];
  /** a condition that calls for a rebirth request */
  rebirthReason: IssueCode | undefined;
  /** births fill a fresh scope accounted as a whole; data changes the state that is kept */
  birth: boolean;
  error: SparkplugDecodeError | undefined;
}

function newScope(device: string | undefined): Scope {
  return { device, online: false, byName: new Map(), byAlias: new Map(), tags: [], size: 0, bytes: 0 };
}

const BDSEQ = 'bdSeq';
const NODE_CONTROL = 'Node Control/';

export class SparkplugHost {
  private readonly nodes = new Map<string, EdgeNode>();
  private readonly lastRebirth = new Map<string, number>();
  private readonly paths: TagPathBuilder;
  private readonly provider: string | undefined;
  private readonly rebirthEnabled: boolean;
  private readonly rebirthMinIntervalMs: number;
  private readonly reorderTimeoutMs: number;
  private readonly includeTransient: boolean;
  private readonly templateParameters: boolean;
  private readonly maxEdgeNodes: number;
  private readonly maxMetrics: number;
  private readonly maxStateBytes: number;
  private metricCount = 0;
  private stateBytes = 0;
  private evicted = 0;
  private refused = 0;
  private closed = false;

  constructor(private readonly opts: HostOptions = {}) {
    this.paths = compileTagPathTemplate(opts.tagPathTemplate);
    this.provider = this.paths.provider;
    this.rebirthEnabled = opts.rebirthEnabled ?? true;
    this.rebirthMinIntervalMs = opts.rebirthMinIntervalMs ?? 5000;
    this.reorderTimeoutMs = opts.reorderTimeoutMs ?? 0;
    this.includeTransient = opts.includeTransient ?? false;
    this.templateParameters = opts.templateParameters ?? true;
    this.maxEdgeNodes = opts.maxEdgeNodes ?? 10_000;
    this.maxMetrics = opts.maxMetrics ?? 1_000_000;
    this.maxStateBytes = opts.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
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

  /** Stops reorder timers; the instance must not be used afterwards. */
  close(): void {
    this.closed = true;
    for (const node of this.nodes.values()) this.clearReorder(node);
  }

  // ------------------------------------------------------------------------------------------

  private rebirth(result: { actions: HostAction[] }, group: string, edge: string, reason: IssueCode, now: number): void {
    const action = this.rebirthAction(group, edge, reason, now);
    if (action) result.actions.push(action);
  }

  private rebirthAction(group: string, edge: string, reason: IssueCode, now: number): RebirthAction | undefined {
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

  /**
   * Whether a birth replacing state of (oldSize, oldBytes) by (size, bytes) fits the limits,
   * after forgetting offline edge nodes (least recently born first); the refusal reason if not.
   */
  private makeRoom(oldSize: number, size: number, oldBytes: number, bytes: number): string | undefined {
    const over = (): boolean =>
      this.metricCount - oldSize + size > this.maxMetrics || this.stateBytes - oldBytes + bytes > this.maxStateBytes;
    while (over() && this.evictOfflineNode()) { /* evicted one */ }
    if (!over()) return undefined;
    this.refused++;
    return this.metricCount - oldSize + size > this.maxMetrics
      ? `more than ${this.maxMetrics} metrics`
      : `more than ${this.maxStateBytes} bytes of edge node state`;
  }

  private account(oldSize: number, size: number, oldBytes: number, bytes: number): void {
    this.metricCount += size - oldSize;
    this.stateBytes += bytes - oldBytes;
  }

  private finish(result: HostResult, ctx: Ctx, receivedAt: number): void {
    result.events = ctx.events;
    for (const i of ctx.issues) result.issues.push(i);
    if (ctx.error) result.error = ctx.error;
    if (ctx.rebirthReason) this.rebirth(result, ctx.node.group, ctx.node.edge, ctx.rebirthReason, receivedAt);
  }

  /** Sequence check (one counter per edge node, shared with its devices, 255 wraps to 0). */
  private checkSeq(node: EdgeNode, raw: RawPayload, result: HostResult): boolean {
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

  private clearReorder(node: EdgeNode): void {
    if (node.reorderTimer) clearTimeout(node.reorderTimer);
    node.reorderTimer = undefined;
    node.missingSeqs.clear();
  }

  private evictOfflineNode(): boolean {
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

  // --- births ---------------------------------------------------------------------------------

  private birthMetrics(ctx: Ctx, metrics: RawMetric[], receivedAt: number): void {
    const { node, scope } = ctx;
    const isNode = scope.device === undefined;
    // definitions first: instances may precede them in the list
    if (isNode) {
      for (const m of metrics) {
        if (m.value === 'template_value' && m.template_value?.is_definition && has(m, 'name')) {
          node.definitions.set(m.name as string, m.template_value);
          node.bytes += rawTemplateBytes(m.template_value, 0);
        }
      }
    }
    for (const m of metrics) {
      if (!has(m, 'name')) {
        ctx.issues.push({ code: 'MALFORMED', message: `a ${isNode ? 'NBIRTH' : 'DBIRTH'} metric of ${node.sourceSystem} has no name` });
        continue;
      }
      const name = m.name as string;
      const type = ownDataType(m);
      let role: Role = 'tag';
      if (isNode && name === BDSEQ) role = 'bdSeq';
      else if (isNode && name.startsWith(NODE_CONTROL)) role = 'control';
      else if (type === DataType.Template) role = m.template_value?.is_definition ? 'definition' : 'template';
      const def = this.define(ctx, name, type, role);
      if (role === 'bdSeq') {
        node.bdSeq = String(this.safeValue(ctx, m, type, name) ?? '');
      } else if (role === 'template') {
        this.birthTemplate(ctx, def, m, m.template_value ?? {}, receivedAt, 0);
      } else if (role === 'tag') {
        scope.tags.push(def);
        this.emit(ctx, def, m, type, undefined, receivedAt);
      }
      const alias = aliasKey(m);
      if (alias !== undefined) scope.byAlias.set(alias, def);
      scope.byName.set(name, def);
    }
  }

  private define(ctx: Ctx, name: string, datatype: number, role: Role): MetricDef {
    const tagPath = this.paths.path(ctx.node.group, ctx.node.edge, ctx.scope.device, name);
    ctx.scope.size++;
    ctx.scope.bytes += DEF_OVERHEAD_BYTES + 2 * (name.length + tagPath.length);
    return { name, role, datatype, ignitionType: ignitionDataType(datatype), tagPath, last: null };
  }

  /** Keeps `value` as the last value of a tag, within the state budget (see maxStateBytes). */
  private remember(ctx: Ctx, def: MetricDef, value: TagValue): void {
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

  private birthTemplate(ctx: Ctx, instance: MetricDef, m: RawMetric, t: RawTemplate, receivedAt: number, depth: number): void {
    if (depth > MAX_NESTING_DEPTH) return this.valueError(ctx, instance.name, new Error(`templates nested deeper than ${MAX_NESTING_DEPTH}`));
    const definition = t.template_ref ? ctx.node.definitions.get(t.template_ref) : undefined;
    const defTypes = new Map<string, number>();
    for (const dm of definition?.metrics ?? []) if (dm.name) defTypes.set(dm.name, ownDataType(dm));
    instance.members = new Map();
    for (const mm of t.metrics ?? []) {
      if (!has(mm, 'name')) continue;
      const memberName = mm.name as string;
      const type = has(mm, 'datatype') ? (mm.datatype as number) : (defTypes.get(memberName) ?? ownDataType(mm));
      const nested = type === DataType.Template;
      const def = this.define(ctx, `${instance.name}/${memberName}`, type, nested ? 'template' : 'tag');
      instance.members.set(memberName, def);
      if (nested) {
        this.birthTemplate(ctx, def, mm, mm.template_value ?? {}, receivedAt, depth + 1);
      } else {
        ctx.scope.tags.push(def);
        this.emit(ctx, def, mm, type, m, receivedAt);
      }
    }
    this.templateParameterEvents(ctx, instance, m, t, definition, receivedAt);
  }

  private templateParameterEvents(
    ctx: Ctx, instance: MetricDef, m: RawMetric, t: RawTemplate, definition: RawTemplate | undefined, receivedAt: number,
  ): void {
    if (!this.templateParameters) return;
    const params = new Map<string, { type: number; value: TagValue }>();
    for (const source of [definition?.parameters ?? [], t.parameters ?? []]) {
      for (const p of source) {
        if (!p.name) continue;
        const type = p.type ?? DataType.Unknown;
        let value: TagValue = null;
        try {
          value = p.value && p.value !== 'extension_value' ? basicValue(type, p, p.value) : null;
        } catch (err) {
          this.valueError(ctx, `${instance.name} parameter ${p.name}`, err);
          continue;
        }
        params.set(p.name, { type, value });
      }
    }
    const ts = has(m, 'timestamp') ? uint64ToNumber(m.timestamp) : ctx.payloadTs;
    for (const [name, p] of params) {
      const def: MetricDef = {
        name, role: 'tag', datatype: p.type, ignitionType: ignitionDataType(p.type),
        tagPath: this.paths.path(ctx.node.group, ctx.node.edge, ctx.scope.device, `${instance.name}/Parameters/${name}`),
        last: p.value,
      };
      ctx.events.push(this.event(ctx.node, def, p.value, QUALITY_GOOD, ts || receivedAt, !!m.is_historical));
    }
  }

  // --- data -----------------------------------------------------------------------------------

  private dataMetric(ctx: Ctx, m: RawMetric, scope: Scope, receivedAt: number): void {
    let def: MetricDef | undefined;
    if (has(m, 'name')) {
      def = scope.byName.get(m.name as string);
    } else {
      const alias = aliasKey(m);
      if (alias !== undefined) def = scope.byAlias.get(alias);
      if (!def) {
        ctx.issues.push({
          code: 'UNKNOWN_ALIAS',
          message: `alias ${String(alias)} of ${ctx.node.sourceSystem}${scope.device ? `/${scope.device}` : ''} is not in its birth certificate`,
        });
        ctx.rebirthReason ??= 'UNKNOWN_ALIAS';
        return;
      }
    }
    if (!def) {
      this.unknownMetric(ctx, m, m.name as string, undefined, receivedAt);
      return;
    }
    switch (def.role) {
      case 'tag': this.emit(ctx, def, m, def.datatype, undefined, receivedAt); return;
      case 'template': this.dataTemplate(ctx, def, m, m, receivedAt); return;
      default: return; // bdSeq, Node Control/*, definitions
    }
  }

  private dataTemplate(ctx: Ctx, instance: MetricDef, m: RawMetric, top: RawMetric, receivedAt: number): void {
    if (m.is_null || m.value !== 'template_value') return;
    const t = m.template_value as RawTemplate;
    for (const mm of t.metrics ?? []) {
      const def = mm.name !== undefined ? instance.members?.get(mm.name) : undefined;
      if (!def) {
        this.unknownMetric(ctx, mm, `${instance.name}/${mm.name ?? '?'}`, top, receivedAt);
        continue;
      }
      if (def.role === 'template') this.dataTemplate(ctx, def, mm, top, receivedAt);
      else this.emit(ctx, def, mm, def.datatype, top, receivedAt);
    }
    if (t.parameters?.length) this.templateParameterEvents(ctx, instance, m, t, undefined, receivedAt);
  }

  /** A metric the birth did not announce: emitted when it says its own type, and a rebirth asked for. */
  private unknownMetric(ctx: Ctx, m: RawMetric, name: string, parent: RawMetric | undefined, receivedAt: number): void {
    ctx.issues.push({
      code: 'UNKNOWN_METRIC',
      message: `metric "${name}" of ${ctx.node.sourceSystem}${ctx.scope.device ? `/${ctx.scope.device}` : ''} is not in its birth certificate`,
    });
    ctx.rebirthReason ??= 'UNKNOWN_METRIC';
    if (!has(m, 'datatype') || m.datatype === DataType.Template || m.datatype === DataType.Unknown) return;
    const type = m.datatype as number;
    const def: MetricDef = {
      name, role: 'tag', datatype: type, ignitionType: ignitionDataType(type),
      tagPath: this.paths.path(ctx.node.group, ctx.node.edge, ctx.scope.device, name), last: null, unkept: true,
    };
    this.emit(ctx, def, m, type, parent, receivedAt);
  }

  // --- events ---------------------------------------------------------------------------------

  private safeValue(ctx: Ctx, m: RawMetric, type: number, name: string): TagValue | undefined {
    try {
      return metricValue(m, type);
    } catch (err) {
      this.valueError(ctx, name, err);
      return undefined;
    }
  }

  private valueError(ctx: Ctx, what: string, err: unknown): void {
    const message = `${ctx.node.sourceSystem}${ctx.scope.device ? `/${ctx.scope.device}` : ''} metric ${what}: ${(err as Error).message}`;
    ctx.error ??= new SparkplugDecodeError(message, 'VALUE');
    ctx.issues.push({ code: 'MALFORMED', message });
  }

  private emit(ctx: Ctx, def: MetricDef, m: RawMetric, type: number, parent: RawMetric | undefined, receivedAt: number): void {
    const value = this.safeValue(ctx, m, type, def.name);
    if (value === undefined) return;
    const historical = !!m.is_historical || !!parent?.is_historical;
    if (!historical && value !== def.last) {
      // numbers and booleans replace numbers and booleans at no cost to the state budget
      if (holdsNoBytes(value) && holdsNoBytes(def.last)) def.last = value;
      else this.remember(ctx, def, value);
    }
    if ((m.is_transient || parent?.is_transient) && !this.includeTransient) return;
    const ts = has(m, 'timestamp') ? uint64ToNumber(m.timestamp)
      : parent && has(parent, 'timestamp') ? uint64ToNumber(parent.timestamp) : ctx.payloadTs;
    const quality = m.properties ? metricQuality(m.properties) : QUALITY_GOOD;
    ctx.events.push(this.event(ctx.node, def, value, quality, ts || receivedAt, historical));
  }

  private event(node: EdgeNode, def: MetricDef, value: TagValue, q: Quality, timestamp: number, historical: boolean): TagEvent {
    const e: TagEvent = {
      tagPath: def.tagPath,
      tagProvider: this.provider,
      value,
      quality: q.quality,
      qualityCode: q.qualityCode,
      timestamp,
      dataType: def.ignitionType,
      sourceSystem: node.sourceSystem,
    };
    if (historical) e.historical = true;
    return e;
  }
}

/** Default of HostOptions.maxStateBytes. */
export const DEFAULT_MAX_STATE_BYTES = 256 * 1024 * 1024;
/** A metric definition's fixed cost (object, map entries, array slot), estimated. */
const DEF_OVERHEAD_BYTES = 160;

function holdsNoBytes(v: TagValue): boolean {
  return v === null || (typeof v !== 'string' && typeof v !== 'object');
}

/** Memory a value holds, estimated (strings two bytes per character, 16 per slot). */
function valueBytes(v: TagValue): number {
  if (typeof v === 'string') return 16 + 2 * v.length;
  if (v === null || typeof v !== 'object') return 0;
  let n = 16;
  if (Array.isArray(v)) {
    for (const e of v) n += 8 + valueBytes(e);
  } else {
    for (const k in v) n += 16 + 2 * k.length + valueBytes(v[k]);
  }
  return n;
}

/** Memory a template definition holds (names, texts and the payload bytes it refers to), estimated. */
function rawTemplateBytes(t: RawTemplate, depth: number): number {
  let n = 64;
  const held = (h: { name?: string; string_value?: string; bytes_value?: Uint8Array }): number =>
    64 + 2 * ((h.name?.length ?? 0) + (h.string_value?.length ?? 0)) + (h.bytes_value?.length ?? 0);
  for (const p of t.parameters ?? []) n += held(p);
  for (const m of t.metrics ?? []) {
    n += held(m);
    if (m.template_value && depth < MAX_NESTING_DEPTH) n += rawTemplateBytes(m.template_value, depth + 1);
  }
  return n;
}
