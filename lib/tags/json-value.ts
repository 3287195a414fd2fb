/**
 * Tag values that are JSON arrays/objects: validation (what a row can hold) and the two texts
 * made from them — the JSON text stored in `string_value` and the canonical text hashed into
 * `event_id`.
 */

/** Deeper nesting than this is not tag data (a Document tag is a few levels deep). */
export const MAX_VALUE_DEPTH = 32;
/** Arrays/objects with more members than this in total are refused (memory guard). */
export const MAX_VALUE_NODES = 1_000_000;

const objectProto = Object.prototype;

/**
 * Sets a member whose key came from input: a key `__proto__` becomes an own member like any
 * other instead of replacing the object's prototype (what `obj[key] = value` would do).
 */
export function setOwnMember(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === objectProto || proto === null;
}

/**
 * Why a nested value cannot be stored, or undefined when it can. Accepted: null, booleans,
 * strings, numbers (NaN/±Infinity too), bigints, arrays and plain objects of those.
 */
export function nestedValueError(value: unknown): string | undefined {
  const budget = { nodes: 0 };
  return check(value, 0, '', budget);
}

function check(v: unknown, depth: number, path: string, budget: { nodes: number }): string | undefined {
  switch (typeof v) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'bigint':
      return undefined;
    case 'object': {
      if (v === null) return undefined;
      if (depth >= MAX_VALUE_DEPTH) return `value nests deeper than ${MAX_VALUE_DEPTH} levels (at ${path || 'the top'})`;
      if (Array.isArray(v)) {
        budget.nodes += v.length;
        if (budget.nodes > MAX_VALUE_NODES) return `value holds more than ${MAX_VALUE_NODES} members`;
        for (let i = 0; i < v.length; i++) {
          const err = check(v[i], depth + 1, `${path}[${i}]`, budget);
          if (err !== undefined) return err;
        }
        return undefined;
      }
      if (!isPlainObject(v)) return `value${path} is a ${v.constructor?.name ?? 'non-plain'} object, not JSON data`;
      const keys = Object.keys(v);
      budget.nodes += keys.length;
      if (budget.nodes > MAX_VALUE_NODES) return `value holds more than ${MAX_VALUE_NODES} members`;
      for (const k of keys) {
        const err = check((v as Record<string, unknown>)[k], depth + 1, `${path}.${k}`, budget);
        if (err !== undefined) return err;
      }
      return undefined;
    }
    default:
      return `value${path} is ${v === undefined ? 'undefined' : `a ${typeof v}`}, not JSON data`;
  }
}

/** What differs between the two texts: how numbers are written and in which order keys come. */
interface TextForm {
  number(n: number): string;
  keys(o: object): string[];
}

/** JSON has no NaN: non-finite numbers become null (as JSON.stringify does). */
const STORED: TextForm = { number: (n) => (Number.isFinite(n) ? String(n) : 'null'), keys: Object.keys };
const CANONICAL: TextForm = { number: String, keys: (o) => Object.keys(o).sort() };

/**
 * JSON text of an array/object for `string_value`: members in their own order, bigints as
 * exact integer digits, non-finite numbers as null (JSON has no NaN; this is also what
 * JSON.stringify does). Undefined members of objects are left out, in arrays they are null.
 */
export function jsonText(v: unknown): string {
  return valueText(v, STORED);
}

/**
 * Canonical text of any tag value for hashing: object keys sorted, numbers in JavaScript's
 * shortest round-trip form, non-finite numbers as the bare words NaN/Infinity/-Infinity (so
 * that they differ from null and from the strings "NaN"…), bigints as their digits (5n and 5
 * are the same value).
 */
export function canonicalValueText(v: unknown): string {
  return valueText(v, CANONICAL);
}

function valueText(v: unknown, form: TextForm): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return form.number(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + valueText(v[i], form);
        return out + ']';
      }
      let out = '{';
      let first = true;
      for (const k of form.keys(v)) {
        const m = (v as Record<string, unknown>)[k];
        if (m === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(k) + ':' + valueText(m, form);
        first = false;
      }
      return out + '}';
    }
    default:
      return 'null';
  }
}
