import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import { varintSize, writeVarint } from '../../lib/varint';

describe('varint writer (one for every hand-written encoder)', () => {
  it('writes the bytes protobufjs writes, and as many as varintSize says, across the shift/divide boundary', () => {
    const values = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 3, Number.MAX_SAFE_INTEGER];
    for (const n of values) {
      const expected = protobuf.Writer.create().uint64(n).finish();
      const buf = new Uint8Array(12).fill(0xee);
      const end = writeVarint(buf, 1, n);
      assert.deepEqual([...buf.subarray(1, end)], [...expected], String(n));
      assert.equal(end - 1, varintSize(n), `size of ${n}`);
      assert.equal(buf[0], 0xee, 'nothing written before pos');
      assert.equal(buf[end], 0xee, 'nothing written after the varint');
    }
  });
});
