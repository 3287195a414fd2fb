/**
 * The Sparkplug host's vocabulary: its options, results and issues (public), and the per-edge
 * state it keeps — edge nodes, their devices (scopes) and metric definitions — and the context
 * one message is handled in (internal to lib/sparkplug).
 */
import type { TagEvent, TagValue } from '../tags/event';
import type { AliasKey, DecodeOptions, SparkplugDecodeError } from './codec';
import type { RawTemplate } from './proto';
import type { SparkplugTopic } from './topic';

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

export type Role = 'tag' | 'bdSeq' | 'control' | 'definition' | 'template';

export interface MetricDef {
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

export interface Scope {
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

export interface EdgeNode extends Scope {
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

export interface Ctx {
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

export function newScope(device: string | undefined): Scope {
  return { device, online: false, byName: new Map(), byAlias: new Map(), tags: [], size: 0, bytes: 0 };
}
