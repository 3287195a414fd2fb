import assert from 'node:assert/strict';
import { EVENT_ID_NAMESPACE } from '../../../lib/tags/row';
import { referenceUuidV5 } from './reference-uuid';
import { nameFinish, nameFinishWithJsSha1, nameNumber, nameStart, nameText, uuidBytes, uuidV5 } from '../../../lib/tags/uuid-v5';

const NS = uuidBytes(EVENT_ID_NAMESPACE);

/** UUID of the name written by nameNumber(n): equal to that of String(n) only if the bytes are. */
function byNameNumber(n: number): string {
  nameStart(NS);
  nameNumber(n);
  return nameFinish();
}

/** A small deterministic generator, so that a failure names a value that can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('tags/uuid-v5 nameNumber', () => {
  const check = (n: number) => assert.equal(byNameNumber(n), uuidV5(NS, String(n)), `${String(n)} (${n < 0 ? '-' : ''}${Math.abs(n).toString(2).length} binary chars)`);

  it('writes String(n) for the numbers its short-decimal path takes and those it leaves to String', () => {
    const cases = [
      0, -0, 1, -1, 42, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 53 + 2, 1e21, 1e300, -1e-300, 5e-324,
      NaN, Infinity, -Infinity, 0.1, -0.1, 0.5, 1.5, 42.5, 0.000001, 0.0000015, 1e-7, 0.123456, 0.1234567,
      1700000000123.25, 1700000000123.125, 1764222222222.001, 1764222222222.999, 1764222222222.1,
      2251799813685.247, 2251799813685.248, 225179981368.5247, 9.999999, 99.99, 0.3 - 0.1, 0.1 + 0.2,
      1 / 3, Math.PI, 23.399999618530273, 2 ** 51 / 1e6, 2 ** 51 / 1e6 + 0.5, 1e15 + 0.5, 4503599627370495.5,
    ];
    for (const n of cases) check(n);
  });

  it('writes String(n) for 800,000 generated timestamps and readings', () => {
    const rnd = lcg(20261127);
    for (let i = 0; i < 200_000; i++) {
      // millisecond timestamps with microseconds, as the load generator and Sparkplug senders write them
      check(1_600_000_000_000 + Math.floor(rnd() * 4e11) + Math.floor(rnd() * 1000) / 1000);
      // readings with 1..6 decimals, either sign, many magnitudes
      const k = 1 + Math.floor(rnd() * 6);
      const mag = 10 ** Math.floor(rnd() * 12 - 3);
      check((rnd() < 0.5 ? -1 : 1) * Math.round(rnd() * mag * 10 ** k) / 10 ** k);
      // arbitrary doubles: full-precision floats (a Float4 widened) and raw bit patterns
      check(Math.fround(rnd() * 1000));
      check(new Float64Array(new Uint32Array([Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32)]).buffer)[0]);
    }
  });

  it('writes String(n) around the edge of its range, where doubles are more than 10^-k apart', () => {
    for (let k = 1; k <= 6; k++) {
      const edge = 2 ** 51 / 10 ** k;
      for (let d = -4000; d <= 4000; d++) {
        const n = edge + d / 10 ** k;
        check(n);
        check(-n);
        check(edge + d * 2 ** -10);
      }
    }
  });
});

describe('tags/uuid-v5 hashing', () => {
  it('gives the node:crypto UUID with the one-shot hash and with the JavaScript SHA-1, at every padding boundary', () => {
    // 16 namespace bytes + name: one, two and three 64-byte blocks, multi-byte UTF-8 included
    for (let len = 0; len <= 200; len++) {
      for (const name of ['x'.repeat(len), 'é'.repeat(len >> 1) + 'a'.repeat(len & 1), '\u{1F600}'.repeat(len >> 2)]) {
        const want = referenceUuidV5(name);
        nameStart(NS);
        nameText(name);
        assert.equal(nameFinish(), want, `nameFinish, ${Buffer.byteLength(name)} bytes`);
        nameStart(NS);
        nameText(name);
        assert.equal(nameFinishWithJsSha1(), want, `JavaScript SHA-1, ${Buffer.byteLength(name)} bytes`);
      }
    }
  });

  it('hashes names longer than the reused buffer it started with', () => {
    const name = 'tag/'.repeat(3000);
    assert.equal(uuidV5(NS, name), referenceUuidV5(name));
    assert.equal(uuidV5(NS, 'short'), referenceUuidV5('short'));
  });
});
