/**
 * Tag event ⇒ the row of the default OT events table (docs/DESIGN.md §5, `proto/ot_event.proto`).
 *
 * Value columns:
 *  - finite number ⇒ numeric_value (DateTime values are ms epoch numbers).
 *  - NaN / ±Infinity ⇒ string_value "NaN" / "Infinity" / "-Infinity", numeric_value NULL. A Delta
 *    DOUBLE could hold them through PROTO, but JSON has no such numbers; one rule for both
 *    record types keeps a table's content independent of the encoding chosen.
 *  - integer beyond ±2^53 (a bigint, or an unsafe integer of an integer type such as Int8) ⇒
 *    numeric_value (nearest double) and string_value with the exact integer digits.
 *  - string ⇒ string_value (an empty string stays "": it is a value, not a missing one).
 *  - boolean ⇒ boolean_value.
 *  - array/object ⇒ string_value with its JSON text.
 *  - null ⇒ no value column at all.
 * Every other column with nothing to put in it is absent (NULL), never 0 or "".
 */
import type { TagEvent } from './event';
import { isIntegerType } from './data-type';
import { canonicalValueText, jsonText } from './json-value';
import { rowFieldsOrReason } from './normalise';
import { nameChar, nameDigest, nameFinish, nameJsonString, nameNumber, nameStart, nameText, uuidBytes } from './uuid-v5';

export interface OtEventRow {
  event_id: string;
  event_time: number;
  tag_path: string;
  tag_provider?: string;
  numeric_value?: number;
  string_value?: string;
  boolean_value?: boolean;
  quality?: string;
  quality_code?: number;
  source_system?: string;
  ingestion_timestamp: number;
  data_type?: string;
  alarm_state?: string;
  alarm_priority?: number;
}

/** The columns of the row, in field-number order of `proto/ot_event.proto`. */
export const OT_EVENT_COLUMNS = [
  'event_id', 'event_time', 'tag_path', 'tag_provider', 'numeric_value', 'string_value', 'boolean_value', 'quality',
  'quality_code', 'source_system', 'ingestion_timestamp', 'data_type', 'alarm_state', 'alarm_priority',
] as const satisfies ReadonlyArray<keyof OtEventRow>;

export interface RowContext {
  /** source_system when the event has none (zerobus-out's `sourceSystem`, default host name). */
  sourceSystem: string;
  /** Microseconds since the epoch when zerobus-out accepted the event. */
  ingestionMicros: number;
}

/** A tag event that cannot become a row; the message says why. */
export class RowMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowMappingError';
  }
}

/** Namespace of our event ids (a fixed random UUID: ids are stable across versions and hosts). */
export const EVENT_ID_NAMESPACE = 'e056b771-d7ec-42ae-98d6-1bbf41bd1bf9';
const NAMESPACE_BYTES = uuidBytes(EVENT_ID_NAMESPACE);

/**
 * Deterministic event id: UUID v5 over source system, tag path, timestamp (ms, as JavaScript
 * prints it), the value's canonical text (object keys sorted, 5n ≡ 5, NaN distinct from null)
 * and the quality code. The parts are joined as JSON-quoted strings and comma-separated
 * tokens, so no two different events share a name. Expects a normalised event.
 */
export function eventId(event: TagEvent, sourceSystem: string): string {
  writeEventName(event, sourceSystem);
  return nameFinish();
}

function writeEventName(event: TagEvent, sourceSystem: string): void {
  // Written straight into the hash buffer; the same bytes as the name
  // JSON.stringify(sourceSystem),JSON.stringify(tagPath),timestamp,canonicalValueText(value),code
  nameStart(NAMESPACE_BYTES);
  nameJsonString(sourceSystem);
  nameChar(44);
  nameJsonString(event.tagPath);
  nameChar(44);
  nameAny(event.timestamp);
  nameChar(44);
  const value = event.value;
  if (typeof value === 'string') nameJsonString(value);
  else if (typeof value === 'number') nameNumber(value);
  else nameText(canonicalValueText(value));
  nameChar(44);
  const code = event.qualityCode;
  if (code !== undefined) nameAny(code);
}

/** String(x) of a field that should be a number (what string concatenation would write). */
function nameAny(x: unknown): void {
  if (typeof x === 'number') nameNumber(x);
  else nameText(String(x));
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function setValueColumns(row: OtEventRow, value: unknown, dataType: string | undefined): void {
  switch (typeof value) {
    case 'number':
      if (value - value !== 0) {
        // NaN or ±Infinity (x - x is NaN exactly for those)
        row.string_value = String(value);
      } else {
        row.numeric_value = value;
        if ((value > MAX_SAFE || value < -MAX_SAFE) && Number.isInteger(value) && isIntegerType(dataType)) {
          row.string_value = BigInt(value).toString();
        }
      }
      return;
    case 'string':
      row.string_value = value;
      return;
    case 'boolean':
      row.boolean_value = value;
      return;
    case 'bigint':
      row.numeric_value = Number(value);
      if (value > BigInt(MAX_SAFE) || value < -BigInt(MAX_SAFE)) row.string_value = value.toString();
      return;
    case 'object':
      if (value !== null) row.string_value = jsonText(value);
      return;
  }
}

/**
 * Maps a tag event (normalised or raw, as received) to its row. Throws RowMappingError with the
 * reason when the event cannot be understood. A missing timestamp becomes the ingestion time.
 */
export function toOtEventRow(event: TagEvent | unknown, ctx: RowContext): OtEventRow {
  const e = rowFields(event, ctx);
  const sourceSystem = sourceSystemOf(e, ctx);
  // properties in column order, so that the row reads like the table wherever it is printed
  const row = {
    event_id: eventId(e, sourceSystem ?? ''),
    event_time: Math.round(e.timestamp * 1000),
    tag_path: e.tagPath,
    tag_provider: e.tagProvider ?? 'default',
  } as OtEventRow;
  setValueColumns(row, e.value, e.dataType);
  if (e.quality !== undefined) row.quality = e.quality;
  if (e.qualityCode !== undefined) row.quality_code = e.qualityCode;
  if (sourceSystem !== undefined) row.source_system = sourceSystem;
  row.ingestion_timestamp = ctx.ingestionMicros;
  if (e.dataType !== undefined) row.data_type = e.dataType;
  if (e.alarmState !== undefined) row.alarm_state = e.alarmState;
  if (e.alarmPriority !== undefined) row.alarm_priority = e.alarmPriority;
  return row;
}

/**
 * toOtEventRow for an encoder that writes the row out at once and the event id's text itself
 * (row-codec's encodeOtEventRecordProto): the row is one reused object of a fixed shape (every
 * column present, undefined when NULL), valid until the next call; `event_id` is left empty
 * and the id is uuid-v5's latest digest, to be written with writeUuidText before any other id
 * is computed. Saves the row object and the id string per record.
 */
export function toOtEventRowIdDigested(event: TagEvent | unknown, ctx: RowContext): OtEventRow {
  const e = rowFields(event, ctx);
  const sourceSystem = sourceSystemOf(e, ctx);
  writeEventName(e, sourceSystem ?? '');
  nameDigest();
  const row = REUSED_ROW;
  row.event_time = Math.round(e.timestamp * 1000);
  row.tag_path = e.tagPath;
  row.tag_provider = e.tagProvider ?? 'default';
  row.numeric_value = row.string_value = row.boolean_value = undefined;
  setValueColumns(row, e.value, e.dataType);
  row.quality = e.quality;
  row.quality_code = e.qualityCode;
  row.source_system = sourceSystem;
  row.ingestion_timestamp = ctx.ingestionMicros;
  row.data_type = e.dataType;
  row.alarm_state = e.alarmState;
  row.alarm_priority = e.alarmPriority;
  return row;
}

const REUSED_ROW: OtEventRow = {
  event_id: '',
  event_time: 0,
  tag_path: '',
  tag_provider: undefined,
  numeric_value: undefined,
  string_value: undefined,
  boolean_value: undefined,
  quality: undefined,
  quality_code: undefined,
  source_system: undefined,
  ingestion_timestamp: 0,
  data_type: undefined,
  alarm_state: undefined,
  alarm_priority: undefined,
};

/** The event's row fields (see rowFieldsOrReason), after checking the ingestion time. */
function rowFields(event: TagEvent | unknown, ctx: RowContext): TagEvent {
  const micros = ctx.ingestionMicros;
  if (!Number.isSafeInteger(micros)) throw new RowMappingError(`ingestion time ${String(micros)} is not an integer of microseconds`);
  const e = rowFieldsOrReason(event, Math.floor(micros / 1000));
  if (typeof e === 'string') throw new RowMappingError(e);
  return e;
}

function sourceSystemOf(e: TagEvent, ctx: RowContext): string | undefined {
  return e.sourceSystem ?? (ctx.sourceSystem === '' ? undefined : ctx.sourceSystem);
}
