/**
 * Normalisation of tag events as real gateways send them (docs/DESIGN.md §3, §4.3; docs/DESIGN.md §12 B1–B3):
 * Jython type names, numeric-string timestamps and codes, legacy/unsigned quality codes,
 * `"None"` providers, NaN/Infinity, Java date texts. What can be understood is turned into a
 * canonical TagEvent; what cannot yields a precise reason. Never throws.
 *
 * This runs on every event: the common path (string path, number value, known quality name
 * and code, numeric timestamp, known type name) does Map lookups only, no regex, no copies.
 */
import type { TagEvent, TagValue } from './event';
import { canonicalDataType, isFloatType, isIntegerType } from './data-type';
import { nestedValueError } from './json-value';
import {
  decodeQualityCode,
  isQualityCodeNumber,
  LEGACY_QUALITY_CODES,
  qualityFromName,
  QUALITY_GOOD,
} from './quality';
import { describe, MICROS_FROM, MILLIS_FROM, parseTimestamp } from './timestamp';

export { canonicalDataType } from './data-type';

/** Longest accepted tag path (Ignition paths are far shorter; this bounds garbage). */
export const MAX_TAG_PATH_LENGTH = 1024;
/** Longest accepted text in the short descriptive fields (provider, quality, source, alarm). */
export const MAX_FIELD_LENGTH = 256;

export type NormaliseResult = { ok: true; event: TagEvent } | { ok: false; error: string };

export interface NormaliseOptions {
  /** ms epoch used when the event has no timestamp (default Date.now()). */
  now?: number;
}

function fail(error: string): NormaliseResult {
  return { ok: false, error };
}

/** `[provider]path` ⇒ provider; undefined without a (non-empty) bracket prefix. */
export function providerOfPath(tagPath: string): string | undefined {
  if (tagPath.charCodeAt(0) !== 91 /* [ */) return undefined;
  const end = tagPath.indexOf(']', 1);
  return end > 1 ? tagPath.slice(1, end) : undefined;
}

/** Ignition alarm priority names (IA "Alarm Priority"), for senders that use them. */
const ALARM_PRIORITIES = new Map(Object.entries({ diagnostic: 0, low: 1, medium: 2, high: 3, critical: 4 }));

/** Ignition's integer data type ids (B3), for senders that send the id instead of the name. */
const DATA_TYPE_IDS: Record<number, string> = {
  0: 'Int1', 1: 'Int2', 2: 'Int4', 3: 'Int8', 4: 'Float4', 5: 'Float8', 6: 'Boolean', 7: 'String', 8: 'DateTime',
  9: 'DataSet', 10: 'Text', 11: 'Int4Array', 12: 'Int8Array', 13: 'Float8Array', 14: 'BooleanArray',
  15: 'StringArray', 16: 'DateTimeArray', 17: 'Int1Array', 18: 'Int2Array', 19: 'Float4Array', 20: 'ByteArray',
  29: 'Document',
};

// Maps, not object literals, wherever the key comes from input: `constructor` or `__proto__` must
// not find Object.prototype's members.
const NON_FINITE_WORDS = new Map(Object.entries({
  NaN: NaN, nan: NaN, NAN: NaN, Infinity: Infinity, '+Infinity': Infinity, inf: Infinity, Inf: Infinity,
  INF: Infinity, '-Infinity': -Infinity, '-inf': -Infinity, '-Inf': -Infinity, '-INF': -Infinity,
}));

function isBlank(s: string): boolean {
  return s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim().length === 0);
}

function optionalText(raw: unknown, field: string): { ok: true; text: string | undefined } | { ok: false; error: string } {
  if (raw === undefined || raw === null) return { ok: true, text: undefined };
  let s: string;
  if (typeof raw === 'string') s = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') s = String(raw);
  else return { ok: false, error: `${field} must be a string, not ${describe(raw)}` };
  if (isBlank(s)) return { ok: true, text: undefined };
  if (s.length > MAX_FIELD_LENGTH) return { ok: false, error: `${field} is longer than ${MAX_FIELD_LENGTH} characters` };
  return { ok: true, text: s };
}

type ValueResult = { ok: true; value: TagValue } | { ok: false; error: string };

function normaliseValue(raw: unknown): ValueResult {
  switch (typeof raw) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'bigint':
      return { ok: true, value: raw };
    case 'undefined':
      return { ok: true, value: null };
    case 'object': {
      if (raw === null) return { ok: true, value: null };
      if (raw instanceof Date) {
        const ms = raw.getTime();
        return Number.isNaN(ms) ? { ok: false, error: 'value is an invalid Date' } : { ok: true, value: ms };
      }
      // Binary values (Sparkplug Bytes/File, Ignition ByteArray) are kept as base64 text.
      if (raw instanceof Uint8Array) return { ok: true, value: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
      const err = nestedValueError(raw);
      return err === undefined ? { ok: true, value: raw as TagValue } : { ok: false, error: err };
    }
    default:
      return { ok: false, error: `value is a ${typeof raw}, not JSON data` };
  }
}

/** Gives the value the representation its type implies, when it came as text. */
function coerceValue(value: TagValue, dataType: string | undefined): TagValue {
  if (typeof value !== 'string' || dataType === undefined) return value;
  if (isFloatType(dataType)) {
    const word = NON_FINITE_WORDS.get(value.trim());
    return word === undefined ? value : word;
  }
  if (dataType === 'DateTime') {
    const t = parseTimestamp(value, NaN);
    return t.ok && !Number.isNaN(t.ms) ? t.ms : value;
  }
  if (isIntegerType(dataType) && /^\s*-?\d+\s*$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : BigInt(value.trim());
  }
  return value;
}

type QualityResult = { ok: true; quality: string | undefined; qualityCode: number | undefined } | { ok: false; error: string };

const GOOD_192: QualityResult = { ok: true, quality: 'Good', qualityCode: 192 };

function parseCode(raw: unknown): { ok: true; code: number | undefined } | { ok: false; error: string } {
  if (raw === undefined || raw === null) return { ok: true, code: undefined };
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim();
    if (s === '') return { ok: true, code: undefined };
    n = Number(s);
  } else if (typeof raw === 'bigint') n = Number(raw);
  else return { ok: false, error: `qualityCode must be an integer, not ${describe(raw)}` };
  if (!isQualityCodeNumber(n)) return { ok: false, error: `qualityCode ${JSON.stringify(String(raw)).slice(0, 40)} is not a 32-bit integer` };
  return { ok: true, code: n };
}

/** Bare quality name: the text before a `("diagnostic message")`, trimmed. */
function bareName(name: string): string {
  const paren = name.indexOf('(');
  return (paren >= 0 ? name.slice(0, paren) : name).trim();
}

/**
 * Quality name and code, each derived from the other when missing; both missing ⇒ Good/192.
 * With both present the name is trusted for the level (legacy 0 "bad" vs modern 0 "good"):
 * the code is kept (as its modern signed form) when it agrees with the name's level, read as a
 * legacy code when that agrees instead, and otherwise replaced by the name's own code.
 */
function normaliseQuality(rawName: unknown, rawCode: unknown): QualityResult {
  // Fast path: what every Ignition 8 gateway sends.
  if (rawName === 'Good' && (rawCode === 192 || rawCode === undefined)) return { ok: true, quality: 'Good', qualityCode: 192 };
  const parsed = parseCode(rawCode);
  if (!parsed.ok) return parsed;
  let code = parsed.code;
  let name: string | undefined;
  if (typeof rawName === 'string') {
    name = isBlank(rawName) ? undefined : rawName;
  } else if (typeof rawName === 'number' && code === undefined) {
    // a code sent in the name field
    const asCode = parseCode(rawName);
    if (!asCode.ok) return { ok: false, error: `quality ${rawName} is neither a name nor a 32-bit code` };
    code = asCode.code;
  } else if (rawName !== undefined && rawName !== null && typeof rawName !== 'number') {
    return { ok: false, error: `quality must be a name string, not ${describe(rawName)}` };
  }
  if (name === undefined) {
    if (code === undefined) return { ok: true, quality: QUALITY_GOOD.quality, qualityCode: QUALITY_GOOD.qualityCode };
    const q = decodeQualityCode(code);
    return { ok: true, quality: q.quality, qualityCode: q.qualityCode };
  }
  const byName = qualityFromName(name);
  if (byName === undefined) {
    const bare = bareName(name);
    if (bare === '') return { ok: false, error: `quality ${JSON.stringify(name.slice(0, 40))} has no name` };
    if (bare.length > MAX_FIELD_LENGTH) return { ok: false, error: `quality is longer than ${MAX_FIELD_LENGTH} characters` };
    return { ok: true, quality: bare, qualityCode: code === undefined ? undefined : decodeQualityCode(code).qualityCode };
  }
  if (code === undefined || code === byName.qualityCode) return { ok: true, quality: byName.quality, qualityCode: byName.qualityCode };
  const decoded = decodeQualityCode(code);
  if (decoded.level === byName.level) return { ok: true, quality: byName.quality, qualityCode: decoded.qualityCode };
  const legacy = LEGACY_QUALITY_CODES.get(code);
  if (legacy !== undefined && legacy.level === byName.level) return { ok: true, quality: byName.quality, qualityCode: legacy.qualityCode };
  return { ok: true, quality: byName.quality, qualityCode: byName.qualityCode };
}

function normaliseAlarmPriority(raw: unknown): { ok: true; priority: number | undefined } | { ok: false; error: string } {
  if (raw === undefined || raw === null || raw === '') return { ok: true, priority: undefined };
  let n: number | undefined;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim();
    n = ALARM_PRIORITIES.get(s.toLowerCase()) ?? (s === '' ? NaN : Number(s));
  }
  if (n === undefined || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    return { ok: false, error: `alarmPriority ${JSON.stringify(String(raw)).slice(0, 40)} is not a 32-bit integer or a priority name` };
  }
  return { ok: true, priority: n };
}

/** An optional text field that normalises to itself (absent, or a text optionalText keeps as is). */
function unchangedText(raw: unknown): boolean {
  return raw === undefined || (typeof raw === 'string' && raw.length <= MAX_FIELD_LENGTH && !isBlank(raw));
}

/** An alarm priority that normalises to itself (absent, or a 32-bit integer number). */
function unchangedPriority(raw: unknown): boolean {
  return raw === undefined || (typeof raw === 'number' && Number.isInteger(raw) && raw >= -0x80000000 && raw <= 0x7fffffff);
}

function dataTypeName(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return Object.hasOwn(DATA_TYPE_IDS, raw) ? DATA_TYPE_IDS[raw] : undefined;
  return undefined;
}

/** A raw tag event (as received) ⇒ the canonical TagEvent, or the reason it cannot be one. */
export function normaliseTagEvent(raw: unknown, opts?: NormaliseOptions): NormaliseResult {
  const out = normaliseOrReason(raw, opts?.now);
  return typeof out === 'string' ? fail(out) : { ok: true, event: out };
}

/**
 * normaliseTagEvent without the result wrapper (it runs twice per event on the Ignition path):
 * the canonical event, or the reason as a string. Never throws.
 */
export function normaliseOrReason(raw: unknown, now?: number): TagEvent | string {
  return normaliseSafely(raw, now, false);
}

/**
 * For row mapping (the second normalisation on the Ignition path): the canonical event, or the
 * reason. When `raw` already holds the canonical value in every field a row is made of — as an
 * event the receiver normalised does, unless a node in between changed it — `raw` itself is
 * returned instead of an equal copy. Every field is checked each time, so a changed event is
 * normalised like any other; only the copy is saved. Not for output: `raw` may carry other
 * properties (historical: false, fields of the user's own), which a row ignores.
 */
export function rowFieldsOrReason(raw: unknown, now?: number): TagEvent | string {
  return normaliseSafely(raw, now, true);
}

function normaliseSafely(raw: unknown, now: number | undefined, reuse: boolean): TagEvent | string {
  try {
    return normalise(raw, now, reuse);
  } catch (e) {
    // only reachable through hostile objects (throwing getters, proxies)
    return `the event could not be read: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function normalise(raw: unknown, now: number | undefined, reuse: boolean): TagEvent | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `a tag event must be a JSON object, not ${describe(raw)}`;
  const r = raw as Record<string, unknown>;

  const tagPath = r.tagPath;
  if (typeof tagPath !== 'string') return tagPath === undefined ? 'tagPath is missing' : `tagPath must be a string, not ${describe(tagPath)}`;
  if (isBlank(tagPath)) return 'tagPath is empty';
  if (tagPath.length > MAX_TAG_PATH_LENGTH) return `tagPath is longer than ${MAX_TAG_PATH_LENGTH} characters`;

  const rawProvider = r.tagProvider;
  let tagProvider: string | undefined;
  if (typeof rawProvider === 'string' && rawProvider !== 'None' && rawProvider !== 'null' && !isBlank(rawProvider)) {
    if (rawProvider.length > MAX_FIELD_LENGTH) return `tagProvider is longer than ${MAX_FIELD_LENGTH} characters`;
    tagProvider = rawProvider;
  } else if (rawProvider !== undefined && rawProvider !== null && typeof rawProvider !== 'string') {
    return `tagProvider must be a string, not ${describe(rawProvider)}`;
  } else {
    tagProvider = providerOfPath(tagPath);
  }

  // Common cases inline, without result objects: a millisecond number, a primitive value,
  // Good/192. Everything else takes the general path.
  const rawTs = r.timestamp;
  let timestamp: number;
  if (typeof rawTs === 'number' && rawTs >= MILLIS_FROM && rawTs < MICROS_FROM) timestamp = rawTs;
  else {
    const ts = parseTimestamp(rawTs, now ?? Date.now());
    if (!ts.ok) return ts.error;
    timestamp = ts.ms;
  }

  const rawValue = r.value;
  let v: TagValue;
  const kind = typeof rawValue;
  if (kind === 'number' || kind === 'string' || kind === 'boolean') v = rawValue as TagValue;
  else {
    const nv = normaliseValue(rawValue);
    if (!nv.ok) return nv.error;
    v = nv.value;
  }
  const dataType = canonicalDataType(dataTypeName(r.dataType), v);
  const value = coerceValue(v, dataType);

  const rawQuality = r.quality;
  const rawCode = r.qualityCode;
  const q = rawQuality === 'Good' && (rawCode === 192 || rawCode === undefined) ? GOOD_192 : normaliseQuality(rawQuality, rawCode);
  if (!q.ok) return q.error;

  const canonicalType = dataType !== undefined && dataType.length > MAX_FIELD_LENGTH ? dataType.slice(0, MAX_FIELD_LENGTH) : dataType;
  if (
    reuse &&
    tagProvider === rawProvider &&
    timestamp === rawTs &&
    value === rawValue &&
    q.quality === rawQuality &&
    q.qualityCode === rawCode &&
    canonicalType === r.dataType &&
    unchangedText(r.sourceSystem) &&
    unchangedText(r.alarmState) &&
    unchangedPriority(r.alarmPriority)
  ) {
    return r as unknown as TagEvent;
  }

  // Fields in the order of docs/DESIGN.md §3, so that debug output reads like the Ignition payload.
  const event = { tagPath } as TagEvent;
  if (tagProvider !== undefined) event.tagProvider = tagProvider;
  event.value = value;
  if (q.quality !== undefined) event.quality = q.quality;
  if (q.qualityCode !== undefined) event.qualityCode = q.qualityCode;
  event.timestamp = timestamp;
  if (canonicalType !== undefined) event.dataType = canonicalType;

  if (r.sourceSystem !== undefined) {
    const s = optionalText(r.sourceSystem, 'sourceSystem');
    if (!s.ok) return s.error;
    if (s.text !== undefined) event.sourceSystem = s.text;
  }
  if (r.alarmState !== undefined) {
    const s = optionalText(r.alarmState, 'alarmState');
    if (!s.ok) return s.error;
    if (s.text !== undefined) event.alarmState = s.text;
  }
  if (r.alarmPriority !== undefined) {
    const p = normaliseAlarmPriority(r.alarmPriority);
    if (!p.ok) return p.error;
    if (p.priority !== undefined) event.alarmPriority = p.priority;
  }
  if (r.historical === true) event.historical = true;
  return event;
}
