import assert from 'node:assert/strict';
import * as zlib from 'zlib';
import { crc32, crc32Js, crc32OfRange, crc32Range } from '../../../lib/spool/crc32';

describe('spool crc32', () => {
  it('matches the standard check value', () => {
    const check = Buffer.from('123456789');
    assert.equal(crc32Js(check), 0xcbf43926);
    assert.equal(crc32(check), 0xcbf43926);
    assert.equal(crc32Js(Buffer.alloc(0)), 0);
  });

  it('the JS fallback agrees with zlib, including when continuing a running CRC', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 200; n++) {
      const a = Buffer.from(Array.from({ length: random() % 300 }, () => random() & 0xff));
      const b = Buffer.from(Array.from({ length: random() % 40 }, () => random() & 0xff));
      assert.equal(crc32Js(a), crc32(a));
      assert.equal(crc32Js(b, crc32Js(a)), crc32(Buffer.concat([a, b])));
      assert.equal(crc32(b, crc32(a)), crc32(Buffer.concat([a, b])));
    }
  });

  it('agrees with zlib over every length around its 8-byte steps and its native threshold, and over ranges', function () {
    const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
    if (typeof native !== 'function') this.skip();
    const data = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 131 + 17) & 0xff));
    for (let n = 0; n <= 600; n++) {
      const d = data.subarray(0, n);
      assert.equal(crc32Js(d), native!(d), `${n} bytes`);
      assert.equal(crc32(d, 0x12345678), native!(d, 0x12345678), `${n} bytes, continued`);
      assert.equal(crc32OfRange(data, 600 - n, 600, 7), native!(data.subarray(600 - n), 7), `range of ${n} bytes`);
      assert.equal(crc32Range(data, 600 - n, 600, 7), native!(data.subarray(600 - n), 7), `range of ${n} bytes, either way`);
    }
  });
});
