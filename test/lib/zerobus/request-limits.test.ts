import assert from 'node:assert/strict';
import { MAX_MESSAGE_BYTES } from '../../../lib/zerobus/protocol';
import { encodeRequest, frameRequest, maxRecordBytes, RECORD_FRAMING_BYTES, recordLengths } from '../../../lib/zerobus/wire';
import { MAX_REQUEST_BYTES } from '../../../lib/sink';

describe('request size limits (one limit, one framing room)', () => {
  it('the sink\'s largest request stays within Zerobus\'s per-message limit', () => {
    assert.ok(MAX_REQUEST_BYTES <= MAX_MESSAGE_BYTES);
    assert.equal(MAX_REQUEST_BYTES, 10_000_000 - 64 * 1024, 'within 10 MB however the service reads the unit');
    assert.equal(MAX_MESSAGE_BYTES, 10 * 1024 * 1024);
  });

  it('a record of maxRecordBytes(N) fits a request of N bytes at any offset, framing included', () => {
    for (const n of [1024, 65_536, MAX_REQUEST_BYTES]) {
      const records = [Buffer.alloc(maxRecordBytes(n), 1)];
      const request = frameRequest(encodeRequest(records, recordLengths(records, false), 0, 1, false), Number.MAX_SAFE_INTEGER);
      assert.ok(request.length <= n, `${request.length} > ${n}`);
      assert.ok(n - request.length < RECORD_FRAMING_BYTES, 'the room is not wasted');
    }
  });
});
