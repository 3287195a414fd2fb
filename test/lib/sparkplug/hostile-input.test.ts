/**
 * The Sparkplug host against payloads and topics a misbehaving or hostile edge node can publish:
 * declared sizes that would drive allocation, deep nesting, prototype member names as keys,
 * wildcard ids, and births that would fill memory. A bad metric is reported and skipped; the
 * rest of its payload and every other edge node go on.
 */
import assert from 'node:assert/strict';
import {
  DataType, SparkplugHost, decodePayload, encodeArray, encodePayload, type MetricInput,
} from '../../../lib/sparkplug';
import { MAX_ARRAY_ELEMENTS, MAX_DATASET_CELLS, MAX_NESTING_DEPTH } from '../../../lib/sparkplug/limits';
import { PayloadType } from '../../../lib/sparkplug/proto';

const topic = (type: string, edge = 'E1', group = 'G') => `spBv1.0/${group}/${type}/${edge}`;
const raw = (msg: object): Buffer => Buffer.from(PayloadType.encode(msg).finish());
const good = { name: 'Good', datatype: DataType.Int32, int_value: 7 };

function birthOf(metrics: object[]): Buffer {
  return raw({ timestamp: 1000, seq: 0, metrics: [{ name: 'bdSeq', datatype: DataType.Int64, long_value: 0 }, ...metrics] });
}

/** Handles a payload, and asserts that the bad metric was reported and skipped and the good one emitted. */
function badMetricSkipped(host: SparkplugHost, payload: Buffer, problem: RegExp): void {
  const started = Date.now();
  const r = host.handleMessage(topic('NBIRTH'), payload, 2000);
  assert.ok(Date.now() - started < 1000, 'handled at once');
  assert.match(r.error?.message ?? '', problem);
  assert.ok(r.issues.some((i) => i.code === 'MALFORMED' && problem.test(i.message)));
  assert.deepEqual(r.events.map((e) => [e.tagPath.split('/').pop(), e.value]), [['Good', 7]]);
}

describe('sparkplug: hostile input', () => {
  it('never allocates by a DataSet\'s declared num_of_columns: a disagreeing count is an error', () => {
    const host = new SparkplugHost();
    const ds = { num_of_columns: 5_000_000, columns: [], types: [], rows: [{ elements: [] }] };
    const payload = birthOf([{ name: 'Table', datatype: DataType.DataSet, dataset_value: ds }, good]);
    assert.ok(payload.length < 64, 'a few dozen bytes');
    badMetricSkipped(host, payload, /declares 5000000 columns but carries 0/);
    const three = { num_of_columns: 5, columns: ['a', 'b', 'c'], types: [3, 3, 3], rows: [] };
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'T', datatype: DataType.DataSet, dataset_value: three }, good]), /declares 5 columns but carries 3/);
  });

  it('bounds rows × columns of a DataSet', () => {
    const width = 2000;
    const rows = Math.ceil(MAX_DATASET_CELLS / width) + 1;
    const ds = {
      num_of_columns: width, columns: Array.from({ length: width }, (_, i) => `c${i}`), types: new Array(width).fill(DataType.Int32),
      rows: Array.from({ length: rows }, () => ({ elements: [] })),
    };
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'Wide', datatype: DataType.DataSet, dataset_value: ds }, good]), /exceeds the limit of 1000000 cells/);
    const tall = { num_of_columns: 0, rows: Array.from({ length: MAX_DATASET_CELLS + 1 }, () => ({})) };
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'Tall', datatype: DataType.DataSet, dataset_value: tall }, good]), /1000001 rows × 0 columns exceeds/);
  });

  it('bounds array elements, also a BooleanArray\'s declared count', () => {
    const bools = new Uint8Array(4 + (MAX_ARRAY_ELEMENTS + 8) / 8);
    new DataView(bools.buffer).setUint32(0, MAX_ARRAY_ELEMENTS + 8, true);
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'Bits', datatype: DataType.BooleanArray, bytes_value: bools }, good]), /exceeds the limit/);
    const strings = Buffer.alloc(MAX_ARRAY_ELEMENTS + 1); // every byte a terminator: that many empty strings
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'Texts', datatype: DataType.StringArray, bytes_value: strings }, good]), /exceeds the limit/);
    const ok = encodeArray(DataType.Int16Array, [1, -2, 3]);
    const r = new SparkplugHost().handleMessage(topic('NBIRTH'), birthOf([{ name: 'Small', datatype: DataType.Int16Array, bytes_value: ok }]), 2000);
    assert.deepEqual(r.events[0].value, [1, -2, 3]);
  });

  it('bounds nesting of templates and property sets', () => {
    let template: Record<string, unknown> = { metrics: [{ name: 'leaf', datatype: DataType.Int32, int_value: 1 }] };
    for (let i = 0; i < MAX_NESTING_DEPTH + 8; i++) template = { metrics: [{ name: `l${i}`, datatype: DataType.Template, template_value: template }] };
    badMetricSkipped(new SparkplugHost(), birthOf([{ name: 'Deep', datatype: DataType.Template, template_value: template }, good]), /nested deeper than 32/);
    assert.throws(() => decodePayload(raw({ metrics: [{ name: 'Deep', datatype: DataType.Template, template_value: template }] })), /nested deeper/);

    let set: Record<string, unknown> = { keys: ['x'], values: [{ type: DataType.Int32, int_value: 1 }] };
    for (let i = 0; i < MAX_NESTING_DEPTH + 8; i++) set = { keys: ['in'], values: [{ type: DataType.PropertySet, propertyset_value: set }] };
    assert.throws(() => decodePayload(raw({ metrics: [{ name: 'P', datatype: DataType.Int32, int_value: 1, properties: set }] })), /nested deeper/);
  });

  it('keeps a property key __proto__ as a member, never as the object\'s prototype', () => {
    const decoded = decodePayload(raw({
      metrics: [{ name: 'P', datatype: DataType.Int32, int_value: 1, properties: { keys: ['__proto__', 'constructor'], values: [{ type: DataType.String, string_value: 'x' }, { type: DataType.Int32, int_value: 2 }] } }],
    }));
    const props = decoded.metrics[0].properties!;
    assert.equal(Object.getPrototypeOf(props), Object.prototype);
    assert.deepEqual(Object.keys(props), ['__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(props, '__proto__')?.value, 'x');
    assert.equal(props.constructor, 2);
  });

  it('refuses topics whose ids hold wildcards: no rebirth command for spBv1.0/+/NCMD/#', () => {
    const host = new SparkplugHost();
    for (const t of ['spBv1.0/+/NDATA/#', 'spBv1.0/G/NDATA/+', 'spBv1.0/#/NBIRTH/E', 'spBv1.0/G/DDATA/E/+', 'spBv1.0/STATE/+']) {
      const r = host.handleMessage(t, encodePayload({ seq: 1, metrics: [] }), 1000);
      assert.equal(r.topic, undefined, t);
      assert.deepEqual(r.actions, [], t);
      assert.equal(r.issues[0].code, 'NOT_SPARKPLUG', t);
    }
  });

  it('bounds per-edge state by bytes: evicts offline nodes, then refuses births, and says so in its stats', () => {
    const MiB = 1024 * 1024;
    const host = new SparkplugHost({ maxStateBytes: 5 * MiB });
    const big = (edge: string): Buffer => encodePayload({
      seq: 0, metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }, { name: 'Blob', datatype: 'String', value: edge.repeat(MiB / 2 / edge.length) } as MetricInput],
    });
    // 1 MiB of state each (two bytes a character): four fit, the fifth does not
    for (const e of ['E1', 'E2', 'E3', 'E4']) assert.equal(host.handleMessage(topic('NBIRTH', e), big(e), 1000).events.length, 1, e);
    const refused = host.handleMessage(topic('NBIRTH', 'E5'), big('E5'), 1000);
    assert.equal(refused.events.length, 0);
    assert.match(refused.issues[0].message, /bytes of edge node state: NBIRTH of G\/E5 refused/);
    assert.equal(host.stats().refused, 1);
    assert.ok(host.stats().stateBytes <= 5 * MiB);
    // once one is offline, a new birth evicts it
    host.handleMessage(topic('NDEATH', 'E1'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }] }), 1100);
    assert.equal(host.handleMessage(topic('NBIRTH', 'E5'), big('E5'), 1200).events.length, 1);
    assert.equal(host.stats().evicted, 1);
    assert.deepEqual([host.stats().edgeNodes, host.stats().edgeNodesOnline], [4, 4]);
    // data that would grow the state past the budget is emitted but not kept for stale events
    const grow = host.handleMessage(topic('NDATA', 'E2'), encodePayload({ seq: 1, metrics: [{ name: 'Blob', datatype: 'String', value: 'x'.repeat(2 * MiB) }] }), 1300);
    assert.equal((grow.events[0].value as string).length, 2 * MiB);
    assert.ok(grow.issues.some((i) => i.code === 'LIMIT'));
    assert.ok(host.stats().stateBytes <= 5 * MiB);
    const stale = host.handleMessage(topic('NDEATH', 'E2'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }] }), 1400);
    assert.equal(stale.events[0].value, null);
  });
});
