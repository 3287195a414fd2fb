/**
 * The Sparkplug host's metric handling: the definitions a birth announces (templates expanded
 * into `instance/member` tags and, optionally, `instance/Parameters/<name>`), the values NDATA
 * and DDATA carry by name or alias, metrics no birth announced, and the tag events they become.
 * Every metric of every message passes through here.
 */
import type { TagEvent, TagValue } from '../tags/event';
import { QUALITY_GOOD, type Quality } from '../tags';
import * as codec from './codec';
import { SparkplugDecodeError } from './codec';
import * as datatypes from './datatypes';
import * as int64 from './int64';
import * as properties from './properties';
import * as proto from './proto';
import type { RawMetric, RawTemplate } from './proto';
import { compileTagPathTemplate, type TagPathBuilder } from './tag-path';
import { MAX_NESTING_DEPTH } from './limits';
import { basicValue } from './values';
import * as budget from './state-budget';
import type { Ctx, EdgeNode, HostOptions, MetricDef, Role, Scope } from './host-model';
import { RebirthTracker } from './rebirths';

// Hot-path imports are bound once to locals: per-access export getters (as tsx/esbuild emit) cost
// measurably when every metric of every message goes through them.
const { DataType, ignitionDataType } = datatypes;
const { uint64ToNumber } = int64;
const { metricQuality } = properties;
const { has } = proto;
const { aliasKey, metricValue, ownDataType } = codec;
const { DEF_OVERHEAD_BYTES, holdsNoBytes, rawTemplateBytes } = budget;

const BDSEQ = 'bdSeq';
const NODE_CONTROL = 'Node Control/';

export class MetricHandler extends RebirthTracker {
  private readonly paths: TagPathBuilder;
  private readonly provider: string | undefined;
  private readonly includeTransient: boolean;
  private readonly templateParameters: boolean;

  constructor(opts: HostOptions) {
    super(opts);
    this.paths = compileTagPathTemplate(opts.tagPathTemplate);
    this.provider = this.paths.provider;
    this.includeTransient = opts.includeTransient ?? false;
    this.templateParameters = opts.templateParameters ?? true;
  }

  // --- births ---------------------------------------------------------------------------------

  protected birthMetrics(ctx: Ctx, metrics: RawMetric[], receivedAt: number): void {
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

  protected dataMetric(ctx: Ctx, m: RawMetric, scope: Scope, receivedAt: number): void {
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

  protected event(node: EdgeNode, def: MetricDef, value: TagValue, q: Quality, timestamp: number, historical: boolean): TagEvent {
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
