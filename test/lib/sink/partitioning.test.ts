import assert from 'node:assert/strict';
import { Partitioner } from '../../../lib/sink/partitioner';
import { fnv1a, partitionKeyReader, protoFieldHash } from '../../../lib/sink/partition-key';
import { createRecordEncoder, SinkConfigError } from '../../../lib/sink';
import { AUTOSCALE_DEFAULTS, StreamAutoscaler, type AutoscaleSample } from '../../../lib/sink/stream-autoscaler';
import { READINGS_SQL, READINGS_TABLE } from './helpers';

const event = (tagPath: string, n = 0) => ({ tagPath, value: n, quality: 'Good', timestamp: 1765456245000 + n, dataType: 'Float8' });

describe('lib/sink partitioning of records over several streams', () => {
  describe('partition key', () => {
    const proto = createRecordEncoder({ format: 'ot-event', recordType: 'proto', table: 't', sourceSystem: 'edge' });
    const json = createRecordEncoder({ format: 'ot-event', recordType: 'json', table: 't', sourceSystem: 'edge' });
    const encode = (enc: typeof proto, item: unknown) => {
      const out = enc.encode(item, 1);
      assert.ok(out.ok);
      return out.data;
    };
    const key = proto.partitionKey()!;

    it('an OT event is keyed by its tag path, the same in PROTO and JSON, whatever its value or time', () => {
      for (const path of ['[default]Line1/Speed', '[edge]Plant/Ä Zone "3"\\x', 'x']) {
        const expected = fnv1a(Buffer.from(path), 0, Buffer.byteLength(path));
        assert.equal(key(encode(proto, event(path, 1))), expected, `PROTO ${path}`);
        assert.equal(key(encode(proto, event(path, 2))), expected, `PROTO ${path}, other value`);
        assert.equal(key(encode(json, event(path, 3))), expected, `JSON ${path}`);
      }
      assert.notEqual(key(encode(proto, event('[default]A'))), key(encode(proto, event('[default]B'))));
    });

    it('a record it cannot read has no key (it goes round robin) instead of throwing', () => {
      assert.equal(key(Buffer.from([0x0a, 0xff])), undefined, 'a length running past the end');
      assert.equal(key(Buffer.from([0x0b])), undefined, 'a group wire type');
      assert.equal(key(Buffer.from('{"event_id":"x"')), undefined, 'JSON without tag_path, cut short');
      assert.equal(key(Buffer.alloc(0)), undefined);
      assert.equal(protoFieldHash(Buffer.from([0x08, 0x96, 0x01]), 1), fnv1a(Buffer.from([0x96, 0x01]), 0, 2), 'a varint field hashes its bytes');
    });

    it('rows are keyed by the chosen column (by name in any case), or not at all (round robin)', () => {
      const rows = createRecordEncoder({ format: 'rows', recordType: 'proto', table: READINGS_TABLE, sourceSystem: '', schemaSql: READINGS_SQL });
      const byName = rows.partitionKey('NAME')!;
      const a1 = encode(rows, { id: 1, name: 'pump-1', value: 1 });
      const a2 = encode(rows, { id: 2, name: 'pump-1', value: 7 });
      const b = encode(rows, { id: 3, name: 'pump-2', value: 1 });
      assert.equal(byName(a1), byName(a2));
      assert.notEqual(byName(a1), byName(b));
      assert.equal(rows.partitionKey(''), undefined);
      assert.throws(() => rows.partitionKey('nope'), (err: Error) => err instanceof SinkConfigError && /nope/.test(err.message));

      const plain = createRecordEncoder({ format: 'rows', recordType: 'json', table: READINGS_TABLE, sourceSystem: '' });
      const line = plain.partitionKey('line')!;
      assert.equal(line(encode(plain, { line: 'L1', v: 1 })), line(encode(plain, { v: 2, line: 'L1' })));
      assert.equal(line(encode(plain, { v: 2 })), undefined, 'a row without the column');
      assert.equal(partitionKeyReader({ format: 'rows' }), undefined);
    });
  });

  describe('Partitioner', () => {
    const byFirstByte = (data: Buffer) => data[0];
    it('one lane owns everything; several split by key, and key-less records round robin by seq', () => {
      const one = new Partitioner(1, 1, byFirstByte);
      assert.equal(one.laneOf(5, Buffer.from([7])), 0);
      const three = new Partitioner(3, 1, (data) => (data.length ? data[0] : undefined));
      assert.equal(three.laneOf(1, Buffer.from([7])), 1);
      assert.equal(three.laneOf(2, Buffer.from([7])), 1, 'same key, same lane');
      assert.deepEqual([10, 11, 12].map((seq) => three.laneOf(seq, Buffer.alloc(0))), [1, 2, 0]);
      assert.equal(three.readableUpTo(0), Infinity);
    });

    it('a new count applies after the boundary, and no lane reads past it before everything up to it is acknowledged', () => {
      const p = new Partitioner(2, 1, byFirstByte);
      p.resize(3, 100);
      assert.equal(p.widest, 3);
      assert.equal(p.laneOf(100, Buffer.from([5])), 1, 'the old layout (2 lanes) up to the boundary');
      assert.equal(p.laneOf(101, Buffer.from([5])), 2, 'the new layout after it');
      assert.equal(p.readableUpTo(40), 100, 'held at the boundary');
      assert.equal(p.readableUpTo(100), Infinity, 'free once everything up to it is acknowledged');
      p.forget(99);
      assert.equal(p.lanesAt(50), 2, 'the old layout is kept while records under it wait');
      p.forget(100);
      assert.equal(p.widest, 3, 'then forgotten');
      assert.equal(p.lanesAt(50), 3);
    });

    it('resizing before any record of the newest layout was read just changes it', () => {
      const p = new Partitioner(1, 11, byFirstByte);
      p.resize(2, 10);
      assert.equal(p.lanesAt(11), 2);
      assert.equal(p.readableUpTo(10), Infinity);
    });
  });

  describe('StreamAutoscaler', () => {
    const opts = { maxStreams: 3, smallBacklog: 1000 };
    /** feeds one sample a second from t0; returns the decisions */
    function run(scaler: StreamAutoscaler, samples: Omit<AutoscaleSample, 'now'>[], t0 = 0): number[] {
      return samples.map((s, i) => scaler.decide({ ...s, now: t0 + i * 1000 }));
    }
    const bound = (backlog: number, streams = 1) => ({ backlog, rateOut: 20_000 * streams, streams, allOpen: true });

    it('adds a stream once the backlog stayed high for a few seconds, spaced out, up to the maximum', () => {
      const scaler = new StreamAutoscaler(opts);
      const steps = run(scaler, [bound(5000), bound(9000), bound(12_000), bound(15_000)]);
      assert.deepEqual(steps, [0, 0, 0, 1], 'after growFor (3 s)');
      const later = run(scaler, Array.from({ length: 6 }, (_, i) => bound(20_000 + i * 1000, 2)), 4000);
      assert.deepEqual(later, [0, 0, 0, 0, 1, 0], 'one more once settled (5 s after the last)');
      const atMax = run(scaler, Array.from({ length: 20 }, () => bound(50_000, 3)), 20_000);
      assert.ok(atMax.every((x) => x === 0), 'never beyond maxStreams');
    });

    it('does not add a stream for a backlog being worked off, a small one, or while a stream is down', () => {
      const draining = new StreamAutoscaler(opts);
      assert.ok(run(draining, [20_000, 18_000, 15_000, 11_000, 8000, 4000].map((b) => bound(b))).every((x) => x === 0));
      const small = new StreamAutoscaler(opts);
      assert.ok(run(small, Array.from({ length: 10 }, () => bound(900))).every((x) => x === 0));
      const down = new StreamAutoscaler(opts);
      assert.ok(run(down, Array.from({ length: 10 }, () => ({ ...bound(50_000), allOpen: false }))).every((x) => x === 0));
    });

    it('adds streams to work off a backlog that would take longer than drainWithin, while each added one raised the rate', () => {
      // a restart after an outage: 3M records spooled, worked off at 20k/s per stream
      const drain = (backlog: number, streams: number, perStream = 20_000) => ({ backlog, rateOut: perStream * streams, streams, allOpen: true });
      const quota = new StreamAutoscaler(opts);
      const one = run(quota, [0, 1, 2, 3].map((i) => drain(3_000_000 - i * 20_000, 1)));
      assert.deepEqual(one, [0, 0, 0, 1], '150 s of backlog at one stream: a second after growFor');
      const two = run(quota, Array.from({ length: 6 }, (_, i) => drain(2_900_000 - i * 40_000, 2)), 4000);
      assert.deepEqual(two, [0, 0, 0, 0, 1, 0], 'the second carried as much as the first: a third once settled');
      const cpu = new StreamAutoscaler(opts);
      run(cpu, [0, 1, 2, 3].map((i) => drain(3_000_000 - i * 20_000, 1)));
      const shared = run(cpu, Array.from({ length: 20 }, (_, i) => drain(2_900_000 - i * 20_000, 2, 10_000)), 4000);
      assert.ok(shared.every((x) => x === 0), 'two streams carry what one did (the CPU binds): no third');
      const short = run(new StreamAutoscaler(opts), Array.from({ length: 10 }, (_, i) => drain(500_000 - i * 20_000, 1)));
      assert.ok(short.every((x) => x === 0), 'under 30 s of backlog: worked off with the streams there are');
      const impatient = run(new StreamAutoscaler({ ...opts, drainWithin: 10_000 }), Array.from({ length: 4 }, (_, i) => drain(500_000 - i * 20_000, 1)));
      assert.deepEqual(impatient, [0, 0, 0, 1], 'drainWithin is a setting');
    });

    it('closes a stream once the load stayed low long enough and fits in fewer streams, not before', () => {
      const scaler = new StreamAutoscaler(opts);
      run(scaler, [bound(5000), bound(9000), bound(12_000), bound(15_000)]); // 2 streams, 20k/s each
      const idle = AUTOSCALE_DEFAULTS.idleFor / 1000;
      const busy = run(scaler, Array.from({ length: idle + 5 }, () => ({ backlog: 100, rateOut: 30_000, streams: 2, allOpen: true })), 10_000);
      assert.ok(busy.every((x) => x === 0), '30k/s does not fit one stream of 20k/s');
      const quiet = run(scaler, Array.from({ length: idle + 2 }, () => ({ backlog: 100, rateOut: 5_000, streams: 2, allOpen: true })), 100_000);
      assert.equal(quiet.indexOf(-1), idle, 'closed after idleFor of low load');
      const one = run(scaler, Array.from({ length: idle + 5 }, () => ({ backlog: 0, rateOut: 0, streams: 1, allOpen: true })), 200_000);
      assert.ok(one.every((x) => x === 0), 'never below one');
    });
  });
});
