/**
 * Shape checks of request bodies and of each event, compiled once. The body shape decides
 * between 400 (nothing can be understood) and per-item rejection; the item schema only holds
 * the limits that keep one event from costing too much. What an event means (types, dates,
 * qualities) is the tag normaliser's job, which is tolerant on purpose.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { MAX_FIELD_LENGTH, MAX_TAG_PATH_LENGTH, MAX_VALUE_CHARS, MAX_VALUE_DEPTH } from './limits';

const ajv = new Ajv({ allErrors: false, strictTypes: false });

// Read once: two of these come through re-exports, which CommonJS turns into getters, and a
// getter chain per field per event cost more than the ajv call surelyValid replaces.
const TAG_PATH_MAX = MAX_TAG_PATH_LENGTH;
const FIELD_MAX = MAX_FIELD_LENGTH;
const VALUE_MAX = MAX_VALUE_CHARS;

const validateBatch: ValidateFunction = ajv.compile({ type: 'array' });
const validateSingle: ValidateFunction = ajv.compile({ type: 'object' });

const shortText = { maxLength: MAX_FIELD_LENGTH };
const validateItem: ValidateFunction = ajv.compile({
  type: 'object',
  required: ['tagPath'],
  properties: {
    tagPath: { type: 'string', minLength: 1, maxLength: MAX_TAG_PATH_LENGTH },
    tagProvider: shortText,
    quality: shortText,
    sourceSystem: shortText,
    alarmState: shortText,
    dataType: { maxLength: 1024 },
    timestamp: { maxLength: 1024 },
    value: { maxLength: MAX_VALUE_CHARS },
  },
});

export type BodyRoute = 'batch' | 'single';

/** null when the body has the shape the route takes, else the message of a 400. */
export function checkBodyShape(route: BodyRoute, body: unknown): string | null {
  if (route === 'batch') {
    if (validateBatch(body)) return null;
    return validateSingle(body)
      ? 'expected a JSON array of tag events; post a single event object to {path}/ingest'
      : `expected a JSON array of tag events, got ${describe(body)}`;
  }
  if (validateSingle(body)) return null;
  return validateBatch(body)
    ? 'expected one tag event object; post arrays of events to {path}/ingest/batch'
    : `expected a JSON object (one tag event), got ${describe(body)}`;
}

/** null when the event is within the limits, else why it is rejected. */
export function checkItem(item: unknown): string | null {
  if (!surelyValid(item) && !validateItem(item)) return ajvMessage(validateItem.errors);
  return checkValueSize((item as { value?: unknown }).value);
}

/**
 * True only for items validateItem accepts, checked without it (it runs for every event, and
 * ajv's maxLength counts code points in a loop over the string): a string's code points never
 * outnumber its UTF-16 units, so units within a limit mean code points within it. Anything
 * else (and anything this says false to) is left to ajv, which also words the refusal.
 */
function surelyValid(item: unknown): boolean {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return false;
  const r = item as Record<string, unknown>;
  const tagPath = r.tagPath;
  return (
    typeof tagPath === 'string' && tagPath.length > 0 && tagPath.length <= TAG_PATH_MAX &&
    fits(r.tagProvider, FIELD_MAX) && fits(r.quality, FIELD_MAX) && fits(r.sourceSystem, FIELD_MAX) &&
    fits(r.alarmState, FIELD_MAX) && fits(r.dataType, 1024) && fits(r.timestamp, 1024) && fits(r.value, VALUE_MAX)
  );
}

/** maxLength applies to strings only, as in the schema */
function fits(v: unknown, max: number): boolean {
  return typeof v !== 'string' || v.length <= max;
}

function ajvMessage(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid event';
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'event';
  return `${where} ${e.message ?? 'is invalid'}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * Walks an array/object value without recursion (a hostile body may nest thousands of levels,
 * and later stages — cloning, row mapping — recurse) and bounds its depth and text size.
 */
export function checkValueSize(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const stack: [unknown, number][] = [[value, 1]];
  let chars = 0;
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_VALUE_DEPTH) return `value is nested deeper than ${MAX_VALUE_DEPTH} levels`;
    const entries = Array.isArray(v) ? v : Object.entries(v as object);
    chars += 2;
    for (const e of entries) {
      let child: unknown = e;
      if (!Array.isArray(v)) {
        const [k, val] = e as [string, unknown];
        chars += k.length + 4;
        child = val;
      }
      if (typeof child === 'string') chars += child.length + 3;
      else if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
      else chars += 8;
      if (chars > MAX_VALUE_CHARS) return `value is larger than ${MAX_VALUE_CHARS} characters as text`;
    }
  }
  return null;
}
