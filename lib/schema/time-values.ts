/**
 * Times written the way JavaScript users write them — a `Date`, or ISO 8601 text — turned into
 * the integers Zerobus takes for TIMESTAMP (microseconds since the epoch) and DATE (days since
 * the epoch). Used on the sending side only: the emulator, like Zerobus, accepts integers alone.
 * Text without a zone is read as UTC (TIMESTAMP_NTZ stores that wall-clock reading as written).
 */

const MS_PER_DAY = 86_400_000;
/** YYYY-MM-DD, optionally a time to the minute, second or a fraction of up to 9 digits, and a zone */
const ISO_TEXT = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Microseconds since the epoch, or undefined when `value` is neither a valid Date nor ISO text. */
export function timeToMicros(value: unknown): number | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isFinite(ms) ? ms * 1000 : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = ISO_TEXT.exec(value);
  if (!m) return undefined;
  const [, day, minute = '00:00', second = '00', fraction = '', zone = 'Z'] = m;
  const offset = zone === 'Z' || zone === 'z' ? 'Z' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(`${day}T${minute}:${second}${offset}`);
  // Date.parse rolls over impossible dates (2024-02-30); reading the fields back catches that
  if (!Number.isFinite(ms) || !sameCalendarDay(day, ms, offset)) return undefined;
  return ms * 1000 + Number((fraction + '000000').slice(0, 6));
}

/** Days since the epoch, or undefined when `value` is neither a valid Date nor ISO text. */
export function timeToDays(value: unknown): number | undefined {
  const micros = timeToMicros(value);
  return micros === undefined ? undefined : Math.floor(micros / 1000 / MS_PER_DAY);
}

function sameCalendarDay(day: string, ms: number, offset: string): boolean {
  const minutes = offset === 'Z' ? 0 : (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(ms + minutes * 60_000).toISOString().slice(0, 10) === day;
}
