/**
 * Reading the fields the filters need from tag events that may not be normalised yet
 * (the batch node can sit right behind an MQTT or function node). Nothing here throws:
 * an event the filters cannot understand simply passes unfiltered.
 */

/** The per-tag key, or undefined when the event has no usable tagPath (it then passes through). */
export function tagKeyOf(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const path = (event as { tagPath?: unknown }).tagPath;
  return typeof path === 'string' && path.length > 0 ? path : undefined;
}

/** Store-and-forward history must not be compared with the live value of its tag. */
export function isHistorical(event: unknown): boolean {
  return (event as { historical?: unknown }).historical === true;
}

/** The numeric value the deadband and swinging door work on; undefined for anything else. */
export function numericValueOf(event: unknown): number | undefined {
  const value = (event as { value?: unknown }).value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/**
 * What must stay the same for two values of a tag to be compared at all: quality (name and
 * code) and data type. A change of any of them always passes the filters.
 */
export function valueClassOf(event: unknown): string {
  const e = event as { quality?: unknown; qualityCode?: unknown; dataType?: unknown; value?: unknown };
  const kind = e.value === null ? 'null' : Array.isArray(e.value) ? 'array' : typeof e.value;
  return `${String(e.quality ?? '')}|${String(e.qualityCode ?? '')}|${String(e.dataType ?? '')}|${kind}`;
}

/** Event time in ms; numeric strings and ISO dates are accepted, else `fallback` (arrival time). */
export function timestampOf(event: unknown, fallback: number): number {
  const ts = (event as { timestamp?: unknown }).timestamp;
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts;
  if (typeof ts === 'string' && ts.length > 0) {
    const n = Number(ts);
    if (Number.isFinite(n)) return n;
    const parsed = Date.parse(ts);
    if (Number.isFinite(parsed)) return parsed;
  }
  return fallback;
}

/** Deep equality of tag values (JSON-like data, bigint); NaN equals NaN. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], bb[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * Approximate JSON size of an event in bytes, without serialising it (JSON.stringify per
 * event would cost more than all the filters together). Exact for flat events with ASCII
 * strings; nested values fall back to JSON.stringify.
 */
export function approxEventBytes(event: unknown): number {
  if (event === null || typeof event !== 'object') return approxValueBytes(event);
  let bytes = 2;
  for (const key in event as Record<string, unknown>) {
    bytes += key.length + 4 + approxValueBytes((event as Record<string, unknown>)[key]);
  }
  return bytes;
}

function approxValueBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isInteger(value) ? integerTextLength(value) : 18;
    case 'boolean':
      return value ? 4 : 5;
    case 'bigint':
      return String(value).length;
    case 'undefined':
      return 0;
    default:
      if (value === null) return 4;
      try {
        return JSON.stringify(value)?.length ?? 0;
      } catch {
        return 64;
      }
  }
}

/** 10^0 … 10^21, all exact doubles */
const POWERS_OF_TEN = Array.from({ length: 22 }, (_, k) => 10 ** k);

/**
 * String(v).length of an integer, without making the string (quality codes and integer values
 * of every event): below 10^21 String writes every digit, beyond it uses exponent notation.
 */
export function integerTextLength(v: number): number {
  const a = v < 0 ? -v : v;
  if (!(a < 1e21)) return String(v).length;
  let n = 1;
  while (a >= POWERS_OF_TEN[n]) n++;
  return v < 0 ? n + 1 : n;
}
