/**
 * Event timestamps as gateways send them, turned into milliseconds since the Unix epoch (UTC).
 *
 * Numbers (and numeric strings) are milliseconds, except where the magnitude can only mean
 * another unit. Real millisecond times of 1973–5138 lie in [1e11, 1e14); so:
 *   |t| in [1e9, 1e11)   ⇒ seconds      (2001-09-09 … 5138 as seconds; as ms it would be Jan 1970)
 *   |t| in [1e14, 1e17)  ⇒ microseconds (as ms it would be after year 5138)
 *   |t| ≥ 1e17           ⇒ nanoseconds
 *   anything else        ⇒ milliseconds as given (small values, e.g. test clocks, stay ms)
 * Text: ISO 8601 (a date-time without an offset is taken as UTC, never the host's zone), and
 * Java `Date.toString()` (`Tue Nov 14 22:13:20 UTC 2023`, any zone abbreviation below or
 * `GMT+01:00`). The result must lie within the years 0001–9999 (Delta TIMESTAMP range).
 */

const SECONDS_FROM = 1e9;
/** [MILLIS_FROM, MICROS_FROM) are milliseconds as given, all within the accepted years */
export const MILLIS_FROM = 1e11;
export const MICROS_FROM = 1e14;
const NANOS_FROM = 1e17;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z */
export const MIN_TIMESTAMP_MS = -62135596800000;
export const MAX_TIMESTAMP_MS = 253402300799999;

export type TimestampResult = { ok: true; ms: number } | { ok: false; error: string };

/** Epoch number in an unknown unit ⇒ milliseconds (see the table in the header). */
export function epochToMillis(t: number): number {
  const a = t < 0 ? -t : t;
  if (a < SECONDS_FROM || (a >= MILLIS_FROM && a < MICROS_FROM)) return t;
  if (a < MILLIS_FROM) return t * 1000;
  if (a < NANOS_FROM) return t / 1000;
  return t / 1e6;
}

function inRange(ms: number, what: string): TimestampResult {
  if (ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS) return { ok: true, ms };
  return { ok: false, error: `timestamp ${what} is outside the years 0001–9999` };
}

/** Zone abbreviations Java prints in Date.toString(), as minutes east of UTC. */
const ZONES = new Map(Object.entries({
  UTC: 0, GMT: 0, UT: 0, Z: 0, WET: 0, BST: 60, IST: 330, WEST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120,
  EET: 120, EEST: 180, MSK: 180, GST: 240, PKT: 300, ICT: 420, WIB: 420, SGT: 480, HKT: 480, AWST: 480,
  CST: -360, CDT: -300, EST: -300, EDT: -240, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540,
  AKDT: -480, HST: -600, AST: -240, ADT: -180, NST: -210, NDT: -150, JST: 540, KST: 540, ACST: 570,
  ACDT: 630, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780, BRT: -180, ART: -180, SAST: 120, CAT: 120, EAT: 180, WAT: 60,
}));
const MONTHS = new Map(Object.entries({
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
}));
const JAVA_DATE = /^(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? ([A-Za-z]+(?:[+-]\d{1,2}(?::?\d{2})?)?) (\d{4})$/;
const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

function zoneOffsetMinutes(zone: string): number | undefined {
  const fixed = ZONES.get(zone.toUpperCase());
  if (fixed !== undefined) return fixed;
  const m = /^(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(zone);
  if (m === null) return undefined;
  const minutes = Number(m[2]) * 60 + (m[3] === undefined ? 0 : Number(m[3]));
  return m[1] === '-' ? -minutes : minutes;
}

function parseJavaDate(text: string): TimestampResult | undefined {
  const m = JAVA_DATE.exec(text);
  if (m === null) return undefined;
  const month = MONTHS.get(m[1]);
  if (month === undefined) return { ok: false, error: `timestamp "${clip(text)}" has an unknown month` };
  const offset = zoneOffsetMinutes(m[7]);
  if (offset === undefined) return { ok: false, error: `timestamp "${clip(text)}" has an unknown time zone "${m[7]}"` };
  const millis = m[6] === undefined ? 0 : Number(m[6].padEnd(3, '0'));
  const utc = Date.UTC(Number(m[8]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), millis);
  return inRange(utc - offset * 60000, `"${clip(text)}"`);
}

function clip(text: string): string {
  return text.length > 64 ? text.slice(0, 61) + '...' : text;
}

/** Is the whole string a plain decimal number (no hex, no blanks, no exponent games)? */
function isDecimalText(s: string): boolean {
  let i = s.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  let digits = 0;
  let dot = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 /* . */ && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

/** Any timestamp form ⇒ ms epoch; `now` when the field is absent (undefined/null/""). */
export function parseTimestamp(raw: unknown, now: number): TimestampResult {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false, error: `timestamp ${raw} is not a finite number` };
    return inRange(epochToMillis(raw), String(raw));
  }
  if (raw === undefined || raw === null) return { ok: true, ms: now };
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text === '') return { ok: true, ms: now };
    if (isDecimalText(text)) return inRange(epochToMillis(Number(text)), `"${clip(text)}"`);
    if (ISO_WITH_ZONE.test(text)) {
      const ms = Date.parse(text.length === 10 ? text + 'T00:00:00Z' : text.replace(' ', 'T'));
      if (!Number.isNaN(ms)) return inRange(ms, `"${clip(text)}"`);
    } else if (ISO_NO_ZONE.test(text)) {
      const ms = Date.parse(text.replace(' ', 'T') + 'Z');
      if (!Number.isNaN(ms)) return inRange(ms, `"${clip(text)}"`);
    } else {
      const java = parseJavaDate(text);
      if (java !== undefined) return java;
    }
    return { ok: false, error: `timestamp "${clip(text)}" is neither an epoch number, ISO 8601 nor a Java date text` };
  }
  if (typeof raw === 'bigint') return parseTimestamp(Number(raw), now);
  if (raw instanceof Date) {
    const ms = raw.getTime();
    if (Number.isNaN(ms)) return { ok: false, error: 'timestamp is an invalid Date' };
    return inRange(ms, raw.toISOString());
  }
  return { ok: false, error: `timestamp must be a number or a date text, not ${describe(raw)}` };
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : t === 'undefined' ? 'undefined' : `a ${t}`;
}
