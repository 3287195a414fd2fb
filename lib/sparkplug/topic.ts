/**
 * Sparkplug topic namespace (3.0 §4.1): `spBv1.0/<group>/<verb>/<edge>[/<device>]`, and the host
 * STATE topic `spBv1.0/STATE/<host_id>` whose payload is JSON, never protobuf.
 */
export const NAMESPACE = 'spBv1.0';

export type MessageType = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD' | 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

export type SparkplugTopic =
  | { kind: 'state'; hostId: string }
  | { kind: 'edge'; group: string; type: MessageType; edge: string; device?: string };

const NODE_TYPES = new Set(['NBIRTH', 'NDEATH', 'NDATA', 'NCMD']);
const DEVICE_TYPES = new Set(['DBIRTH', 'DDEATH', 'DDATA', 'DCMD']);

/**
 * Parses a topic; undefined when it is not a Sparkplug B topic. The ids must be valid (see
 * isValidId): a topic that reaches the node some other way than from the broker (its input) may
 * hold wildcards, and a rebirth command must never be built for `spBv1.0/+/NCMD/#`.
 */
export function parseTopic(topic: string): SparkplugTopic | undefined {
  const t = topic.split('/');
  if (t[0] !== NAMESPACE) return undefined;
  if (t[1] === 'STATE' && t.length === 3) return isValidId(t[2]) ? { kind: 'state', hostId: t[2] } : undefined;
  if (t.length < 4 || t.length > 5 || !isValidId(t[1]) || !isValidId(t[3])) return undefined;
  const type = t[2];
  if (t.length === 4 && NODE_TYPES.has(type)) return { kind: 'edge', group: t[1], type: type as MessageType, edge: t[3] };
  if (t.length === 5 && DEVICE_TYPES.has(type) && isValidId(t[4])) {
    return { kind: 'edge', group: t[1], type: type as MessageType, edge: t[3], device: t[4] };
  }
  return undefined;
}

export function stateTopic(hostId: string): string {
  return `${NAMESPACE}/STATE/${hostId}`;
}

export function ncmdTopic(group: string, edge: string): string {
  return `${NAMESPACE}/${group}/NCMD/${edge}`;
}

/** Subscription filter for a group filter (`+` = every group). */
export function groupFilter(group: string): string {
  return `${NAMESPACE}/${group || '+'}/#`;
}

/** A Sparkplug id may hold any UTF-8 except the MQTT wildcards and the level separator. */
export function isValidId(id: string): boolean {
  return id.length > 0 && !/[+#/]/.test(id);
}

/** MQTT topic filter matching (`+` one level, `#` the rest); `$` topics never match wildcards at the start. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether every topic that `inner` matches is also matched by `outer`. */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    if (o[k] === '#') return true;
    if (k >= i.length || i[k] === '#') return false;
    if (o[k] !== '+' && (i[k] === '+' || o[k] !== i[k])) return false;
  }
  return o.length === i.length;
}

/**
 * The filters without those another one already covers. Brokers (mosquitto among them) send a
 * message once per matching subscription, and a second copy of a Sparkplug message looks like a
 * seq gap to the host: `spBv1.0/+/#` next to `spBv1.0/Plant1/#` must be one subscription.
 */
export function coveringFilters(filters: Iterable<string>): string[] {
  const all = [...new Set(filters)];
  return all.filter((f, idx) => !all.some((g, j) => j !== idx && filterCovers(g, f) && (!filterCovers(f, g) || j < idx)));
}

/** Host STATE payload (3.0): `{"online": bool, "timestamp": ms}`; undefined when not that shape. */
export function parseStatePayload(payload: Uint8Array): { online: boolean; timestamp?: number } | undefined {
  try {
    const v = JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && typeof (v as { online?: unknown }).online === 'boolean') {
      const ts = (v as { timestamp?: unknown }).timestamp;
      return { online: (v as { online: boolean }).online, ...(typeof ts === 'number' ? { timestamp: ts } : {}) };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

export function statePayload(online: boolean, timestamp: number): Buffer {
  return Buffer.from(JSON.stringify({ online, timestamp }), 'utf8');
}
