import assert from 'node:assert/strict';
import * as sinon from 'sinon';
import {
  SparkplugHost, encodePayload, type HostOptions, type MetricInput, type PayloadInput, type RebirthAction,
} from '../../../lib/sparkplug';
import { QUALITY_STALE } from '../../../lib/tags';
import { tahu } from '../../fixtures/sparkplug/tahu';

const G = 'Plant';
const E = 'Edge1';
const P = '[MQTT Engine]Edge Nodes/Plant/Edge1';
const topic = (type: string, device?: string, edge = E) => `spBv1.0/${G}/${type}/${edge}${device ? `/${device}` : ''}`;

function nbirth(seq = 0, bdSeq = 0, extra: MetricInput[] = []): Buffer {
  return encodePayload({
    timestamp: 1000, seq,
    metrics: [
      { name: 'bdSeq', datatype: 'Int64', value: bdSeq },
      { name: 'Node Control/Rebirth', datatype: 'Boolean', value: false },
      { name: 'Temperature', alias: 1, datatype: 'Float', value: 20.5, timestamp: 900 },
      { name: 'Status/Running', alias: 2, datatype: 'Boolean', value: true, timestamp: 900 },
      ...extra,
    ],
  });
}

function dbirth(seq: number, metrics: MetricInput[] = [{ name: 'Speed', alias: 10, datatype: 'Int32', value: 5, timestamp: 950 }]): Buffer {
  return encodePayload({ timestamp: 1001, seq, metrics });
}

function data(seq: number | undefined, metrics: MetricInput[], timestamp = 2000): Buffer {
  const p: PayloadInput = { timestamp, metrics };
  if (seq !== undefined) p.seq = seq;
  return encodePayload(p);
}

function born(opts: HostOptions = {}): SparkplugHost {
  const host = new SparkplugHost(opts);
  host.handleMessage(topic('NBIRTH'), nbirth(), 1500);
  return host;
}

describe('SparkplugHost', () => {
  it('NBIRTH emits every metric but bdSeq and Node Control, with MQTT Engine paths and Ignition types', () => {
    const host = new SparkplugHost();
    const r = host.handleMessage(topic('NBIRTH'), nbirth(), 1500);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.events, [
      { tagPath: `${P}/Temperature`, tagProvider: 'MQTT Engine', value: 20.5, quality: 'Good', qualityCode: 192, timestamp: 900, dataType: 'Float4', sourceSystem: 'Plant/Edge1' },
      { tagPath: `${P}/Status/Running`, tagProvider: 'MQTT Engine', value: true, quality: 'Good', qualityCode: 192, timestamp: 900, dataType: 'Boolean', sourceSystem: 'Plant/Edge1' },
    ]);
    assert.deepEqual(r.actions, []);
    assert.deepEqual({ ...host.stats(), stateBytes: 0 }, { edgeNodes: 1, edgeNodesOnline: 1, devicesOnline: 0, metrics: 4, stateBytes: 0, evicted: 0, refused: 0 });
  });

  it('resolves aliases in NDATA/DDATA and takes the datatype from the birth', () => {
    const host = born();
    host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1, [{ name: 'Delta', alias: 10, datatype: 'Int8', value: 0 }]), 1600);
    // DATA without datatype: -5 arrives as 4294967291 and only the birth says it is Int8
    const raw = encodePayload({ timestamp: 2000, seq: 2, metrics: [{ alias: 10, datatype: 'UInt32', value: 4294967291 }] });
    const stripped = tahuStripDatatype(raw);
    const r = host.handleMessage(topic('DDATA', 'Pump'), stripped, 2100);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].tagPath, `${P}/Pump/Delta`);
    assert.equal(r.events[0].value, -5);
    assert.equal(r.events[0].dataType, 'Int1');
    assert.equal(r.events[0].timestamp, 2000); // no metric timestamp: the payload's
    const n = host.handleMessage(topic('NDATA'), data(3, [{ alias: 1, value: 21, datatype: 'Float', timestamp: 2500 }]), 2600);
    assert.equal(n.events[0].tagPath, `${P}/Temperature`);
    assert.equal(n.events[0].timestamp, 2500);
  });

  it('tracks seq across node and devices, wrapping 255 → 0', () => {
    const host = new SparkplugHost();
    host.handleMessage(topic('NBIRTH'), nbirth(250), 1);
    host.handleMessage(topic('DBIRTH', 'D'), dbirth(251), 2);
    for (const seq of [252, 253, 254, 255, 0, 1]) {
      const dev = seq % 2 === 0;
      const r = host.handleMessage(dev ? topic('DDATA', 'D') : topic('NDATA'),
        data(seq, [dev ? { alias: 10, datatype: 'Int32', value: seq } : { alias: 1, datatype: 'Float', value: seq }]), 10);
      assert.deepEqual(r.issues, [], `seq ${seq}`);
      assert.deepEqual(r.actions, []);
    }
  });

  it('a seq gap requests a rebirth at once (reorder timeout 0) and the data is still emitted', () => {
    const host = born();
    const r = host.handleMessage(topic('NDATA'), data(5, [{ alias: 1, datatype: 'Float', value: 1 }]), 3000);
    assert.equal(r.events.length, 1);
    assert.equal(r.issues[0].code, 'SEQ_GAP');
    assert.equal(r.actions.length, 1);
    const a = r.actions[0];
    assert.equal(a.topic, 'spBv1.0/Plant/NCMD/Edge1');
    assert.equal(a.reason, 'SEQ_GAP');
    const cmd = tahu.decodePayload(a.payload);
    assert.equal(Number(cmd.timestamp), 3000);
    assert.equal(cmd.seq, undefined);
    assert.deepEqual(cmd.metrics.map((m) => [m.name, m.type, m.value, m.alias]), [['Node Control/Rebirth', 'Boolean', true, undefined]]);
    // counting resumes from the new seq
    assert.deepEqual(host.handleMessage(topic('NDATA'), data(6, [{ alias: 1, datatype: 'Float', value: 2 }]), 3001).issues, []);
  });

  it('rebirth requests are rate-limited per edge node', () => {
    const host = new SparkplugHost({ rebirthMinIntervalMs: 5000 });
    const d = data(1, [{ name: 'x', datatype: 'Int32', value: 1 }]);
    assert.equal(host.handleMessage(topic('NDATA'), d, 10_000).actions.length, 1);
    assert.equal(host.handleMessage(topic('NDATA'), d, 12_000).actions.length, 0);
    assert.equal(host.handleMessage(topic('NDATA', undefined, 'Other'), d, 12_000).actions.length, 1);
    assert.equal(host.handleMessage(topic('NDATA'), d, 15_000).actions.length, 1);
    const off = new SparkplugHost({ rebirthEnabled: false });
    const r = off.handleMessage(topic('NDATA'), d, 10_000);
    assert.equal(r.actions.length, 0);
    assert.equal(r.issues[0].code, 'BEFORE_BIRTH');
  });

  it('with a reorder timeout, a late message fills the gap; a missing one leads to a deferred rebirth', () => {
    const clock = sinon.useFakeTimers({ now: 100_000 });
    try {
      const deferred: RebirthAction[] = [];
      const host = born({ reorderTimeoutMs: 200, onDeferredAction: (a) => deferred.push(a) });
      const d = (seq: number) => data(seq, [{ alias: 1, datatype: 'Float', value: seq }]);
      assert.deepEqual(host.handleMessage(topic('NDATA'), d(2), 1).actions, []);
      assert.deepEqual(host.handleMessage(topic('NDATA'), d(1), 1).issues, []);
      clock.tick(300);
      assert.equal(deferred.length, 0);
      host.handleMessage(topic('NDATA'), d(5), 1); // 3 and 4 never come
      clock.tick(199);
      assert.equal(deferred.length, 0);
      clock.tick(2);
      assert.equal(deferred.length, 1);
      assert.equal(deferred[0].reason, 'SEQ_GAP');
      host.close();
    } finally {
      clock.restore();
    }
  });

  it('data before birth (late host start) requests a rebirth and emits nothing', () => {
    const host = new SparkplugHost();
    const r = host.handleMessage(topic('DDATA', 'Pump'), data(7, [{ alias: 10, datatype: 'Int32', value: 1 }]), 5);
    assert.deepEqual(r.events, []);
    assert.equal(r.issues[0].code, 'BEFORE_BIRTH');
    assert.equal(r.actions[0].topic, 'spBv1.0/Plant/NCMD/Edge1');
    // a DBIRTH after NBIRTH but DDATA of a device not born yet
    const h2 = born();
    const r2 = h2.handleMessage(topic('DDATA', 'Ghost'), data(1, [{ alias: 10, datatype: 'Int32', value: 1 }]), 5);
    assert.equal(r2.issues[0].code, 'BEFORE_BIRTH');
    assert.equal(r2.actions.length, 1);
  });

  it('unknown alias ⇒ skipped + rebirth; unknown name with a datatype ⇒ emitted + rebirth', () => {
    const host = born();
    const r = host.handleMessage(topic('NDATA'), data(1, [{ alias: 99, datatype: 'Int32', value: 1 }, { alias: 1, datatype: 'Float', value: 3 }]), 5);
    assert.equal(r.events.length, 1);
    assert.equal(r.issues[0].code, 'UNKNOWN_ALIAS');
    assert.equal(r.actions[0].reason, 'UNKNOWN_ALIAS');
    const h2 = born();
    const r2 = h2.handleMessage(topic('NDATA'), data(1, [{ name: 'New/Thing', datatype: 'Int16', value: -2 }]), 5);
    assert.equal(r2.events[0].tagPath, `${P}/New/Thing`);
    assert.equal(r2.events[0].value, -2);
    assert.equal(r2.actions[0].reason, 'UNKNOWN_METRIC');
  });

  it('NDEATH with the current bdSeq: every node and device tag stale at receipt time', () => {
    const host = born();
    host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1), 1600);
    host.handleMessage(topic('NDATA'), data(2, [{ alias: 1, datatype: 'Float', value: 30 }]), 1700);
    const r = host.handleMessage(topic('NDEATH'), encodePayload({ timestamp: 1, metrics: [{ name: 'bdSeq', datatype: 'UInt64', value: 0 }] }), 9000);
    assert.deepEqual(r.events.map((e) => [e.tagPath, e.value, e.quality, e.qualityCode, e.timestamp]), [
      [`${P}/Temperature`, 30, 'Bad_Stale', QUALITY_STALE.qualityCode, 9000],
      [`${P}/Status/Running`, true, 'Bad_Stale', QUALITY_STALE.qualityCode, 9000],
      [`${P}/Pump/Speed`, 5, 'Bad_Stale', QUALITY_STALE.qualityCode, 9000],
    ]);
    assert.deepEqual({ ...host.stats(), stateBytes: 0 }, { edgeNodes: 1, edgeNodesOnline: 0, devicesOnline: 0, metrics: 5, stateBytes: 0, evicted: 0, refused: 0 });
    // data after death ⇒ rebirth
    assert.equal(host.handleMessage(topic('NDATA'), data(3, [{ alias: 1, datatype: 'Float', value: 1 }]), 9001).issues[0].code, 'BEFORE_BIRTH');
  });

  it('a late Will (older bdSeq) arriving after the new NBIRTH is ignored', () => {
    const host = new SparkplugHost();
    host.handleMessage(topic('NBIRTH'), nbirth(0, 4), 1);
    host.handleMessage(topic('NBIRTH'), nbirth(0, 5), 2); // reconnected
    const r = host.handleMessage(topic('NDEATH'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 4 }] }), 3);
    assert.deepEqual(r.events, []);
    assert.equal(r.issues[0].code, 'LATE_DEATH');
    assert.equal(host.stats().edgeNodesOnline, 1);
    const ok = host.handleMessage(topic('NDEATH'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 5 }] }), 4);
    assert.equal(ok.events.length, 2);
    // the second NDEATH (clean disconnect + Will) changes nothing
    assert.deepEqual(host.handleMessage(topic('NDEATH'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 5 }] }), 5).events, []);
  });

  it('a new session (other bdSeq) without a death seen: the old session\'s tags go stale first', () => {
    const host = new SparkplugHost();
    host.handleMessage(topic('NBIRTH'), nbirth(0, 4), 1);
    host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1), 2);
    const r = host.handleMessage(topic('NBIRTH'), nbirth(0, 5), 3);
    assert.deepEqual(r.events.map((e) => [e.tagPath, e.quality]), [
      [`${P}/Temperature`, 'Bad_Stale'], [`${P}/Status/Running`, 'Bad_Stale'], [`${P}/Pump/Speed`, 'Bad_Stale'],
      [`${P}/Temperature`, 'Good'], [`${P}/Status/Running`, 'Good'],
    ]);
    assert.equal(host.stats().devicesOnline, 0);
    // a rebirth within the session (same bdSeq) stales nothing
    const again = host.handleMessage(topic('NBIRTH'), nbirth(0, 5), 4);
    assert.ok(again.events.every((e) => e.quality === 'Good'));
  });

  it('DDEATH: the device tags go stale at the DDEATH payload timestamp', () => {
    const host = born();
    host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1), 1600);
    const r = host.handleMessage(topic('DDEATH', 'Pump'), encodePayload({ timestamp: 7777, seq: 2 }), 9999);
    assert.deepEqual(r.events.map((e) => [e.tagPath, e.quality, e.timestamp]), [[`${P}/Pump/Speed`, 'Bad_Stale', 7777]]);
    assert.equal(host.stats().devicesOnline, 0);
    assert.equal(host.stats().edgeNodesOnline, 1);
  });

  it('connection loss: every tag of every online node goes stale', () => {
    const host = born();
    host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1), 1600);
    host.handleMessage(`spBv1.0/Other/NBIRTH/E2`, nbirth(), 1);
    const lost = host.connectionLost(5000);
    assert.equal(lost.length, 2);
    assert.equal(lost[0].events.length, 3);
    assert.ok(lost.flatMap((l) => l.events).every((e) => e.quality === 'Bad_Stale' && e.timestamp === 5000));
    assert.equal(host.stats().edgeNodesOnline, 0);
    assert.deepEqual(host.connectionLost(6000), []);
  });

  it('Quality property: Sparkplug 0/192/500 and Ignition codes (signed or unsigned)', () => {
    const q = (value: number, type = 'Int32') => ({ Quality: { type, value } });
    const host = new SparkplugHost();
    const r = host.handleMessage(topic('NBIRTH'), encodePayload({
      seq: 0,
      metrics: [
        { name: 'a', datatype: 'Int32', value: 1, properties: q(0) },
        { name: 'b', datatype: 'Int32', value: 1, properties: q(192) },
        { name: 'c', datatype: 'Int32', value: 1, properties: q(500) },
        { name: 'd', datatype: 'Int32', value: 1, properties: q(-2147483126) },
        { name: 'e', datatype: 'Int32', value: 1, properties: q(2147484164, 'UInt32') },
        { name: 'f', datatype: 'Int32', value: 1, properties: q(1073742081, 'Int64') },
      ],
    }), 1);
    assert.deepEqual(r.events.map((e) => [e.quality, e.qualityCode]), [
      ['Bad', -2147483136], ['Good', 192], ['Bad_Stale', -2147483132], ['Bad_NotConnected', -2147483126],
      ['Bad_Stale', -2147483132], ['Uncertain_LastKnownValue', 1073742081],
    ]);
  });

  it('is_null, is_historical (own timestamp, flagged, last value kept) and is_transient', () => {
    const host = born();
    const r = host.handleMessage(topic('NDATA'), data(1, [
      { alias: 1, datatype: 'Float', value: null },
      { alias: 1, datatype: 'Float', value: 10, timestamp: 100, isHistorical: true },
      { alias: 2, datatype: 'Boolean', value: false, isTransient: true },
    ]), 5000);
    assert.deepEqual(r.events.map((e) => [e.value, e.timestamp, e.historical]), [[null, 2000, undefined], [10, 100, true]]);
    const death = host.handleMessage(topic('NDEATH'), encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }] }), 6000);
    assert.equal(death.events[0].value, null, 'historical data does not replace the live value');
    const withTransient = born({ includeTransient: true });
    assert.equal(withTransient.handleMessage(topic('NDATA'), data(1, [{ alias: 2, datatype: 'Boolean', value: false, isTransient: true }]), 1).events.length, 1);
  });

  it('templates: instances expanded into member tags, parameters, DATA with a subset of members', () => {
    const host = new SparkplugHost();
    const r = host.handleMessage(topic('NBIRTH'), encodePayload({
      seq: 0, timestamp: 10,
      metrics: [
        { name: 'Motor 1', alias: 5, datatype: 'Template', value: {
          templateRef: '_types_/Motor', parameters: [{ name: 'Serial', type: 'String', value: 'SN-1' }],
          metrics: [{ name: 'RPM', value: 100, datatype: 'Int32' }, { name: 'Amps', datatype: 'Float', value: 1.5 },
            { name: 'Bearing', datatype: 'Template', value: { templateRef: '_types_/Bearing', metrics: [{ name: 'Temp', datatype: 'Double', value: 40 }] } }],
        } },
        { name: '_types_/Motor', datatype: 'Template', value: {
          isDefinition: true, parameters: [{ name: 'Serial', type: 'String', value: '' }, { name: 'Poles', type: 'Int32', value: 4 }],
          metrics: [{ name: 'RPM', datatype: 'Int32', value: 0 }],
        } },
      ],
    }), 20);
    assert.deepEqual(r.events.map((e) => [e.tagPath, e.value, e.dataType]), [
      [`${P}/Motor 1/RPM`, 100, 'Int4'],
      [`${P}/Motor 1/Amps`, 1.5, 'Float4'],
      [`${P}/Motor 1/Bearing/Temp`, 40, 'Float8'],
      [`${P}/Motor 1/Parameters/Serial`, 'SN-1', 'String'],
      [`${P}/Motor 1/Parameters/Poles`, 4, 'Int4'],
    ]);
    const d = host.handleMessage(topic('NDATA'), encodePayload({
      seq: 1, timestamp: 30,
      metrics: [{ alias: 5, datatype: 'Template', value: { metrics: [{ name: 'Amps', datatype: 'Float', value: 2 }] } }],
    }), 40);
    assert.deepEqual(d.events.map((e) => [e.tagPath, e.value, e.timestamp]), [[`${P}/Motor 1/Amps`, 2, 30]]);
    const death = host.handleMessage(topic('NDEATH'), encodePayload({}), 50);
    assert.deepEqual(death.events.map((e) => e.tagPath), [`${P}/Motor 1/RPM`, `${P}/Motor 1/Amps`, `${P}/Motor 1/Bearing/Temp`]);
  });

  it('custom tag path template and provider', () => {
    const host = new SparkplugHost({ tagPathTemplate: '[Sparkplug]{group}/{edge}/{device}/{metric}' });
    host.handleMessage(topic('NBIRTH'), nbirth(), 1);
    const r = host.handleMessage(topic('DBIRTH', 'Pump'), dbirth(1), 2);
    assert.equal(r.events[0].tagPath, '[Sparkplug]Plant/Edge1/Pump/Speed');
    assert.equal(r.events[0].tagProvider, 'Sparkplug');
    assert.throws(() => new SparkplugHost({ tagPathTemplate: '{group}/{edge}' }), /\{metric\}/);
    const bare = new SparkplugHost({ tagPathTemplate: 'sp/{edge}/{metric}' });
    const b = bare.handleMessage(topic('NBIRTH'), nbirth(), 1);
    assert.equal(b.events[0].tagPath, 'sp/Edge1/Temperature');
    assert.equal(b.events[0].tagProvider, undefined);
  });

  it('malformed payloads are reported, skipped, and leave other edge nodes alone', () => {
    const host = born();
    host.handleMessage(`spBv1.0/${G}/NBIRTH/Other`, nbirth(), 1);
    const r = host.handleMessage(topic('NDATA'), Buffer.from([0x12, 0x64, 0x01]), 2);
    assert.ok(r.error);
    assert.equal(r.error.code, 'MALFORMED');
    assert.equal(r.actions[0].reason, 'MALFORMED');
    const ok = host.handleMessage(`spBv1.0/${G}/NDATA/Other`, data(1, [{ alias: 1, datatype: 'Float', value: 9 }]), 3);
    assert.deepEqual(ok.issues, []);
    assert.equal(ok.events[0].value, 9);
    // a bad array value in one metric: that metric skipped and reported, the others emitted
    const h4 = new SparkplugHost();
    h4.handleMessage(topic('NBIRTH'), encodePayload({ seq: 0, metrics: [{ name: 'Arr', alias: 3, datatype: 'Int32Array', value: [1] }, { name: 'Ok', alias: 4, datatype: 'Int32', value: 1 }] }), 1);
    const mixed = encodePayload({ seq: 1, metrics: [{ alias: 3, datatype: 'Bytes', value: Buffer.alloc(3) }, { alias: 4, datatype: 'Int32', value: 2 }] });
    const m = h4.handleMessage(topic('NDATA'), mixed, 2);
    assert.equal(m.error?.code, 'VALUE');
    assert.deepEqual(m.events.map((e) => e.value), [2]);
  });

  it('STATE, commands and foreign topics are never decoded as payloads', () => {
    const host = new SparkplugHost();
    const s = host.handleMessage('spBv1.0/STATE/scada', Buffer.from('{"online":true,"timestamp":1}'), 1);
    assert.deepEqual([s.events, s.actions, s.issues, s.error], [[], [], [], undefined]);
    assert.equal(s.topic?.kind, 'state');
    const c = host.handleMessage(topic('NCMD'), Buffer.from('garbage'), 1);
    assert.equal(c.error, undefined);
    const f = host.handleMessage('spBv1.0/onlygroup', Buffer.alloc(0), 1);
    assert.equal(f.issues[0].code, 'NOT_SPARKPLUG');
  });

  it('memory is bounded: edge nodes beyond the cap evict offline ones or are refused', () => {
    const host = new SparkplugHost({ maxEdgeNodes: 2, maxMetrics: 100 });
    host.handleMessage('spBv1.0/G/NBIRTH/a', nbirth(), 1);
    host.handleMessage('spBv1.0/G/NBIRTH/b', nbirth(), 1);
    const refused = host.handleMessage('spBv1.0/G/NBIRTH/c', nbirth(), 1);
    assert.equal(refused.issues[0].code, 'LIMIT');
    assert.deepEqual(refused.events, []);
    host.handleMessage('spBv1.0/G/NDEATH/a', encodePayload({}), 2);
    const c = host.handleMessage('spBv1.0/G/NBIRTH/c', nbirth(), 3);
    assert.equal(c.events.length, 2);
    assert.equal(host.stats().edgeNodes, 2);
    const small = new SparkplugHost({ maxMetrics: 5 });
    small.handleMessage('spBv1.0/G/NBIRTH/a', nbirth(), 1);
    assert.equal(small.handleMessage('spBv1.0/G/NBIRTH/b', nbirth(), 1).issues[0].code, 'LIMIT');
    assert.equal(small.stats().metrics, 4);
  });
});

/** Re-encodes a payload without any metric datatype, the way the spec says DATA should look. */
function tahuStripDatatype(bytes: Buffer): Buffer {

  const P = require('sparkplug-payload/lib/sparkplugPayloadProto').org.eclipse.tahu.protobuf.Payload;
  const msg = P.decode(bytes);
  for (const m of msg.metrics) delete m.datatype;
  return Buffer.from(P.encode(msg).finish());
}
