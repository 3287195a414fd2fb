import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest as protobufEncode, toNumber } from '../../../lib/zerobus/protocol';
import { encodeRequest, frameRequest, recordLengths } from '../../../lib/zerobus/wire';
import { varintSize } from '../../../lib/varint';

describe('zerobus request encoder', () => {
  it('produces the same bytes as protobufjs for single records and batches, at any offset', () => {
    const json = ['{"a":1}', '{"b":"ü€😀"}', '{}'];
    const proto = [Buffer.from([1, 2, 3]), Buffer.alloc(300, 7), Buffer.alloc(0)];
    for (const offset of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 33 + 5]) {
      const lj = recordLengths(json, true);
      assert.deepEqual(
        frameRequest(encodeRequest(json, lj, 0, 3, true), offset),
        protobufEncode({ ingest_record_batch: { offset_id: offset, json_batch: { records: json } } }),
      );
      assert.deepEqual(
        frameRequest(encodeRequest(json, lj, 1, 2, true), offset),
        protobufEncode({ ingest_record: { offset_id: offset, json_record: json[1] } }),
      );
      const lp = recordLengths(proto, false);
      assert.deepEqual(
        frameRequest(encodeRequest(proto, lp, 0, 3, false), offset),
        protobufEncode({ ingest_record_batch: { offset_id: offset, proto_encoded_batch: { records: proto } } }),
      );
      assert.deepEqual(
        frameRequest(encodeRequest(proto, lp, 1, 2, false), offset),
        protobufEncode({ ingest_record: { offset_id: offset, proto_encoded_record: proto[1] } }),
      );
    }
  });

  it('re-frames the same encoded request for a resend without touching the body', () => {
    const recs = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i }));
    const req = encodeRequest(recs, recordLengths(recs, true), 0, recs.length, true);
    const first = decodeRequest(Buffer.from(frameRequest(req, 99999)));
    const again = decodeRequest(Buffer.from(frameRequest(req, 0)));
    assert.equal(toNumber(first.ingest_record_batch!.offset_id), 99999);
    assert.equal(toNumber(again.ingest_record_batch!.offset_id), 0);
    assert.deepEqual(again.ingest_record_batch!.json_batch!.records, recs);
  });

  it('accepts UTF-8 Buffers on JSON streams and refuses strings on PROTO streams', () => {
    assert.deepEqual([...recordLengths([Buffer.from('{"x":1}')], true)], [7]);
    assert.throws(() => recordLengths(['{}'], false), /record type does not match/);
    assert.throws(() => recordLengths([42 as unknown as string], true), /not a JSON string/);
  });

  it('sizes varints like protobuf', () => {
    assert.deepEqual([0, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 35 - 1, 2 ** 35].map(varintSize), [1, 1, 2, 2, 3, 4, 5, 5, 6]);
  });
});
