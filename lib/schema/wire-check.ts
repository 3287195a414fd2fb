import { isUtf8 } from 'buffer';
import * as protobuf from 'protobufjs';
import { readVarint } from '../varint';

/**
 * A strict structural check of one encoded message against its type, run before decoding:
 * protobufjs' decoder is lenient (it reads a field whatever its wire type, returns '' for a
 * truncated string and skips unknown fields), so garbage bytes could otherwise become a row.
 * Here every field number must be known, carry the wire type of its declared type (packed or
 * not for repeated scalars), stay inside the buffer, and strings must be valid UTF-8.
 */

type Check = (buf: Uint8Array, pos: number, end: number, depth: number) => string | null;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const MAX_DEPTH = 100;

function wireTypeOf(type: string): number {
  switch (type) {
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WIRE_I64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WIRE_I32;
    case 'string':
    case 'bytes':
      return WIRE_LEN;
    default:
      return WIRE_VARINT; // int32/64, uint32/64, sint32/64, bool
  }
}

interface FieldRule {
  name: string;
  wire: number;
  packable: boolean;
  utf8: boolean;
  sub?: Check;
}

function ruleFor(name: string, type: string, resolved: protobuf.ReflectionObject | null, repeated: boolean, cache: Map<protobuf.Type, Check>): FieldRule {
  if (resolved instanceof protobuf.Type) return { name, wire: WIRE_LEN, packable: false, utf8: false, sub: checkerFor(resolved, cache) };
  const wire = wireTypeOf(type);
  return { name, wire, packable: repeated && wire !== WIRE_LEN, utf8: type === 'string' };
}

function structural(rules: Map<number, FieldRule>): Check {
  const check: Check = (buf, pos, end, depth) => {
    if (depth > MAX_DEPTH) return 'nested too deeply';
    while (pos < end) {
      const tag = readVarint(buf, pos, end);
      if (!tag) return 'truncated field tag';
      pos = tag[1];
      const number = Math.floor(tag[0] / 8);
      const wire = tag[0] & 7;
      const rule = rules.get(number);
      if (!rule) return `unknown field number ${number}`;
      if (wire !== rule.wire && !(rule.packable && wire === WIRE_LEN)) return `field ${rule.name} has wire type ${wire}, expected ${rule.wire}`;
      if (wire === WIRE_VARINT) {
        const v = readVarint(buf, pos, end);
        if (!v) return `field ${rule.name}: truncated varint`;
        pos = v[1];
      } else if (wire === WIRE_I64 || wire === WIRE_I32) {
        pos += wire === WIRE_I64 ? 8 : 4;
        if (pos > end) return `field ${rule.name}: truncated`;
      } else {
        const len = readVarint(buf, pos, end);
        if (!len || len[1] + len[0] > end) return `field ${rule.name}: length beyond the end of the record`;
        const start = len[1];
        pos = start + len[0];
        if (rule.sub) {
          const inner = rule.sub(buf, start, pos, depth + 1);
          if (inner) return `${rule.name}.${inner}`;
        } else if (rule.utf8 && !isUtf8(buf.subarray(start, pos))) {
          return `field ${rule.name} is not valid UTF-8`;
        } else if (rule.packable) {
          // packed repeated scalars: the payload must split into whole elements
          if (rule.wire === WIRE_I64 && len[0] % 8) return `field ${rule.name}: bad packed length`;
          if (rule.wire === WIRE_I32 && len[0] % 4) return `field ${rule.name}: bad packed length`;
          if (rule.wire === WIRE_VARINT) {
            for (let p = start; p < pos; ) {
              const v = readVarint(buf, p, pos);
              if (!v) return `field ${rule.name}: bad packed varint`;
              p = v[1];
            }
          }
        }
      }
    }
    return pos === end ? null : 'truncated record';
  };
  return check;
}

function checkerFor(type: protobuf.Type, cache: Map<protobuf.Type, Check>): Check {
  const cached = cache.get(type);
  if (cached) return cached;
  const rules = new Map<number, FieldRule>();
  // Recursive types refer to the check through this indirection before it is built.
  const lazy: Check = (buf, pos, end, depth) => built(buf, pos, end, depth);
  cache.set(type, lazy);
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field instanceof protobuf.MapField) {
      const entry = new Map<number, FieldRule>([
        [1, ruleFor('key', field.keyType, null, false, cache)],
        [2, ruleFor('value', field.type, field.resolvedType, false, cache)],
      ]);
      rules.set(field.id, { name: field.name, wire: WIRE_LEN, packable: false, utf8: false, sub: structural(entry) });
    } else {
      rules.set(field.id, ruleFor(field.name, field.type, field.resolvedType, field.repeated, cache));
    }
  }
  const built = structural(rules);
  return built;
}

/** Returns a function giving null for a well-formed encoding of `type`, else the reason. */
export function createWireChecker(type: protobuf.Type): (buf: Uint8Array) => string | null {
  const check = checkerFor(type, new Map());
  return (buf) => check(buf, 0, buf.length, 0);
}
