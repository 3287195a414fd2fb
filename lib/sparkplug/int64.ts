/**
 * 64-bit integers. protobufjs hands uint64 fields over as `Long` objects (or numbers when the
 * `long` package is absent). Values that fit in a double exactly become numbers; larger ones
 * become decimal strings, so that nothing is rounded and the event stays JSON-serialisable
 * (a bigint would make JSON.stringify — and so Node-RED's debug sidebar — throw).
 */
import * as protobuf from 'protobufjs';

type Long = protobuf.Long;

export type Uint64Field = number | Long | null | undefined;
export type Int64Value = number | string;

const TWO_32 = 4294967296;

/** Unsigned reading, rounded to a double when above 2^53 (timestamps, seq, alias, sizes). */
export function uint64ToNumber(v: Uint64Field): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  return (v.high >>> 0) * TWO_32 + (v.low >>> 0);
}

/** Exact value of a 64-bit field, two's complement when `signed`: number when safe, else a decimal string. */
export function int64Value(v: Uint64Field, signed: boolean): Int64Value {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  const high = signed ? v.high | 0 : v.high >>> 0;
  const n = high * TWO_32 + (v.low >>> 0);
  if (Number.isSafeInteger(n)) return n;
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return (signed ? BigInt.asIntN(64, big) : big).toString();
}

/** A Long (two's complement bits) for any integer given as number, bigint or decimal string. */
export function toLong(v: number | bigint | string, unsigned = true): Long {
  let big: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`not a finite integer: ${v}`);
    big = BigInt(Math.trunc(v));
  } else {
    big = typeof v === 'bigint' ? v : BigInt(v.trim());
  }
  const bits = BigInt.asUintN(64, big);
  const low = Number(bits & 0xffffffffn) | 0;
  const high = Number(bits >> 32n) | 0;
  // protobufjs writers read low/high only, so a plain object serves when long.js is absent
  const LongCtor = protobuf.util.Long as unknown as (new (low: number, high: number, unsigned: boolean) => Long) | undefined;
  return LongCtor ? new LongCtor(low, high, unsigned) : ({ low, high, unsigned } as Long);
}
