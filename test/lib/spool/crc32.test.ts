import assert from 'node:assert/strict';
import { crc32, crc32Js } from '../../../lib/spool/crc32';

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
});
