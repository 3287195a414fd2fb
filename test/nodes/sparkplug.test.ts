import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type * as sinon from 'sinon';
import type { Node, NodeMessageInFlow } from 'node-red';
const helper = require('node-red-node-test-helper');
import brokerNode from '../../nodes/zerobus-sparkplug-broker/zerobus-sparkplug-broker';
import inNode from '../../nodes/zerobus-sparkplug-in/zerobus-sparkplug-in';
import type { TagEvent } from '../../lib/tags/event';
import { encodePayload } from '../../lib/sparkplug';
import { nextMessage, plainClient, startBroker, waitFor, type TestBroker } from '../fixtures/sparkplug/broker';
import { newTahuClient, tahu, type TahuClient, type TahuPayload } from '../fixtures/sparkplug/tahu';
import { NODE_RED_PATH } from '../support/node-red-path';

helper.init(NODE_RED_PATH);

const coreMqtt = require('@node-red/nodes/core/network/10-mqtt.js');

const P = '[MQTT Engine]Edge Nodes/Plant';

interface Out { topic: string; payload: TagEvent[]; sparkplug: { messageType: string; device?: string } }

/** Births the way an edge node application does it with Tahu (fresh objects each time: Tahu mutates them). */
function nodeBirth(): TahuPayload {
  return {
    timestamp: Date.now(),
    metrics: [
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
      { name: 'Temperature', alias: 1, type: 'Double', value: 21.5 },
      { name: 'Counter', alias: 2, type: 'Int64', value: -7 },
    ],
  };
}
function deviceBirth(): TahuPayload {
  return { timestamp: Date.now(), metrics: [{ name: 'Motor/Speed', alias: 10, type: 'Int16', value: -300 }] };
}

function tahuEdge(b: TestBroker, edge: string, answerRebirth = true): { client: TahuClient; rebirths: number; births: number } {
  const client = newTahuClient({ serverUrl: b.url, groupId: 'Plant', edgeNode: edge, clientId: `tahu-${edge}-${Math.random()}`, publishDeath: true });
  const state = { client, rebirths: 0, births: 0 };
  const birth = () => {
    state.births++;
    client.publishNodeBirth(nodeBirth());
    client.publishDeviceBirth('Pump', deviceBirth());
  };
  client.on('birth', birth);
  client.on('ncmd', (payload) => {
    const m = (payload as { metrics: { name: string; value: unknown }[] }).metrics.find((x) => x.name === 'Node Control/Rebirth');
    if (m?.value === true) {
      state.rebirths++;
      if (answerRebirth) birth(); // Tahu never answers by itself
    }
  });
  client.on('error', () => undefined);
  return state;
}

describe('zerobus-sparkplug-in with zerobus-sparkplug-broker (aedes + Tahu edge nodes)', function () {
  this.timeout(20_000);
  let broker: TestBroker;
  const tahuClients: TahuClient[] = [];
  const plain: MqttClient[] = [];
  let outputs: Out[];
  let commands: NodeMessageInFlow[];
  let errors: NodeMessageInFlow[];

  function flow(extra: Record<string, unknown> = {}) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'b', type: 'zerobus-sparkplug-broker', url: broker.url, hostId: 'nr-host', protocolVersion: '4', keepalive: 30, rejectUnauthorized: true },
      { id: 'in', type: 'zerobus-sparkplug-in', z: 'tab', broker: 'b', group: 'Plant', wires: [['out'], ['cmd']], ...extra },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'cmd', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['in'], uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper', z: 'tab' },
    ];
  }

  async function load(extra: Record<string, unknown> = {}): Promise<void> {
    await helper.load([brokerNode, inNode], flow(extra), { b: { username: '', password: '' } });
    outputs = [];
    commands = [];
    errors = [];
    helper.getNode('out').on('input', (m: NodeMessageInFlow) => outputs.push(m as unknown as Out));
    helper.getNode('cmd').on('input', (m: NodeMessageInFlow) => commands.push(m));
    helper.getNode('err').on('input', (m: NodeMessageInFlow) => errors.push(m));
  }

  const events = () => outputs.flatMap((o) => o.payload);
  const find = (path: string, pred: (e: TagEvent) => boolean = () => true) => events().filter((e) => e.tagPath === path && pred(e));

  async function hostOnline(): Promise<void> {
    const obs = await plainClient(broker.url);
    plain.push(obs);
    const retained = nextMessage(obs, (t, p) => t === 'spBv1.0/STATE/nr-host' && JSON.parse(p.toString()).online === true);
    await obs.subscribeAsync('spBv1.0/STATE/nr-host', { qos: 1 });
    await retained;
  }

  beforeEach(async () => {
    broker = await startBroker();
    helper.settings({ zerobusSparkplugBrokerBackoff: { initialMs: 100, maxMs: 400 }, zerobusSparkplugBrokerCloseTimeoutMs: 1000 });
    await helper.startServer();
  });

  afterEach(async () => {
    for (const c of tahuClients.splice(0)) {
      c.stop();
      c.client?.end(true);
    }
    for (const c of plain.splice(0)) c.end(true);
    await helper.unload();
    await helper.stopServer();
    helper.settings({});
    await broker.close();
  });

  it('host first: births, alias-only data and device data become tag events; the STATE birth is retained', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Edge1');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Edge1/Pump/Motor/Speed`).length === 1, 5000, 'births');
    assert.deepEqual(find(`${P}/Edge1/Temperature`)[0], {
      tagPath: `${P}/Edge1/Temperature`, tagProvider: 'MQTT Engine', value: 21.5, quality: 'Good', qualityCode: 192,
      timestamp: find(`${P}/Edge1/Temperature`)[0].timestamp, dataType: 'Float8', sourceSystem: 'Plant/Edge1',
    });
    assert.equal(find(`${P}/Edge1/Counter`)[0].value, -7);
    assert.equal(find(`${P}/Edge1/Pump/Motor/Speed`)[0].value, -300);
    assert.equal(find(`${P}/Edge1/Pump/Motor/Speed`)[0].dataType, 'Int2');
    assert.ok(!events().some((e) => /bdSeq|Node Control/.test(e.tagPath)));
    // Tahu writes names; alias-only DATA comes from raw proto encoding through the same client
    edge.client.publishNodeData({ timestamp: 5, metrics: [{ name: 'Temperature', type: 'Double', value: 22 }] });
    edge.client.publishDeviceData('Pump', { timestamp: 6, metrics: [{ alias: 10, type: 'Int16', value: -1 }] });
    await waitFor(() => find(`${P}/Edge1/Pump/Motor/Speed`).length === 2, 5000, 'device data');
    assert.equal(find(`${P}/Edge1/Temperature`)[1].value, 22);
    assert.equal(find(`${P}/Edge1/Pump/Motor/Speed`)[1].value, -1);
    assert.equal(find(`${P}/Edge1/Pump/Motor/Speed`)[1].timestamp, 6);
    const ddata = outputs.find((o) => o.sparkplug.messageType === 'DDATA');
    assert.equal(ddata?.topic, 'spBv1.0/Plant/DDATA/Edge1/Pump');
    assert.equal(edge.rebirths, 0);
    assert.equal(commands.length, 0);
  });

  it('status: green with nodes/devices online once connected; red with the reason for a bad config', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Stat');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Stat/Pump/Motor/Speed`).length === 1, 5000, 'births');
    const status = helper.getNode('in').status as sinon.SinonSpy;
    await waitFor(() => /^1 edge node · 1 device · /.test(String(status.lastCall?.args[0]?.text)), 3000, 'status counts');
    assert.equal(status.lastCall.args[0].fill, 'green');
    await helper.unload();
    await helper.load([brokerNode, inNode], [
      { id: 'b2', type: 'zerobus-sparkplug-broker', url: 'http://nope', hostId: 'x' },
      { id: 'in2', type: 'zerobus-sparkplug-in', broker: 'b2', group: '+', wires: [[], []] },
    ]);
    const st2 = helper.getNode('in2').status as sinon.SinonSpy;
    await waitFor(() => st2.called && st2.lastCall.args[0].fill === 'red', 2000, 'red status');
    assert.match(st2.lastCall.args[0].text, /invalid broker URL/);
  });

  it('seq wraps 255 → 0 without a rebirth; a real gap asks for one; compressed payloads decode', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Seq');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Seq/Pump/Motor/Speed`).length === 1, 5000, 'births');
    for (let i = 0; i < 300; i++) edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: i }] });
    await waitFor(() => find(`${P}/Seq/Temperature`, (e) => e.value === 299).length === 1, 8000, '300 data messages');
    assert.equal(find(`${P}/Seq/Temperature`).length, 301);
    assert.equal(edge.rebirths, 0);
    for (const algorithm of ['DEFLATE', 'GZIP']) {
      edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: algorithm.length }] }, { compress: true, algorithm });
    }
    await waitFor(() => find(`${P}/Seq/Temperature`, (e) => e.value === 4).length === 1, 5000, 'compressed data');
    assert.equal(find(`${P}/Seq/Temperature`, (e) => e.value === 7).length, 1);
    (edge.client as unknown as { seq: number }).seq += 3; // lose three messages
    edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: -1 }] });
    await waitFor(() => edge.rebirths === 1, 5000, 'rebirth after a gap');
    await waitFor(() => find(`${P}/Seq/Pump/Motor/Speed`).length === 2, 5000, 'births again');
  });

  it('late host start: data before birth ⇒ rebirth request ⇒ births ⇒ data', async () => {
    const edge = tahuEdge(broker, 'Late');
    tahuClients.push(edge.client);
    await waitFor(() => edge.births === 1, 5000, 'first births (nobody listening)');
    await load();
    await hostOnline();
    edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: 30 }] });
    await waitFor(() => edge.rebirths === 1, 5000, 'rebirth request');
    await waitFor(() => find(`${P}/Late/Pump/Motor/Speed`).length === 1, 5000, 'births after rebirth');
    edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: 31 }] });
    await waitFor(() => find(`${P}/Late/Temperature`, (e) => e.value === 31).length === 1, 5000, 'data after birth');
    assert.equal(find(`${P}/Late/Temperature`, (e) => e.value === 30).length, 0, 'data before birth is not emitted');
  });

  it('device death and node death ⇒ stale events; a late Will with an old bdSeq is ignored', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Dying');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Dying/Pump/Motor/Speed`).length === 1, 5000, 'births');
    edge.client.publishDeviceDeath('Pump', { timestamp: 4242 });
    await waitFor(() => find(`${P}/Dying/Pump/Motor/Speed`, (e) => e.quality === 'Bad_Stale').length === 1, 5000, 'DDEATH stale');
    assert.equal(find(`${P}/Dying/Pump/Motor/Speed`, (e) => e.quality === 'Bad_Stale')[0].timestamp, 4242);
    // a Will from an older session (bdSeq 9 ≠ 0) must not kill the node
    const spoof = await plainClient(broker.url);
    plain.push(spoof);
    await spoof.publishAsync('spBv1.0/Plant/NDEATH/Dying', encodePayload({ metrics: [{ name: 'bdSeq', datatype: 'UInt64', value: 9 }] }), { qos: 1 });
    const debug = helper.getNode('in').debug as sinon.SinonSpy;
    await waitFor(() => debug.args.some((a) => /bdSeq 9 ignored/.test(String(a[0]))), 5000, 'the late NDEATH to be handled');
    assert.equal(find(`${P}/Dying/Temperature`, (e) => e.quality === 'Bad_Stale').length, 0);
    const before = Date.now();
    edge.client.stop(); // publishDeath: true ⇒ NDEATH with bdSeq 0
    await waitFor(() => find(`${P}/Dying/Temperature`, (e) => e.quality === 'Bad_Stale').length === 1, 5000, 'NDEATH stale');
    const stale = find(`${P}/Dying/Temperature`, (e) => e.quality === 'Bad_Stale')[0];
    assert.equal(stale.qualityCode, -2147483132);
    assert.equal(stale.value, 21.5);
    assert.ok(stale.timestamp >= before, 'dated at receipt');
  });

  it('malformed payloads are reported to Catch and skipped; other edge nodes are unaffected', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Good');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Good/Temperature`).length === 1, 5000, 'births');
    const bad = await plainClient(broker.url);
    plain.push(bad);
    await bad.publishAsync('spBv1.0/Plant/NDATA/Broken', Buffer.from([0x12, 0x64, 0x01]), { qos: 1 });
    await waitFor(() => errors.length === 1, 5000, 'catch');
    assert.equal(errors[0].topic, 'spBv1.0/Plant/NDATA/Broken');
    assert.match((errors[0] as unknown as { error: { message: string } }).error.message, /not a Sparkplug B payload/);
    edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: 99 }] });
    await waitFor(() => find(`${P}/Good/Temperature`, (e) => e.value === 99).length === 1, 5000, 'good edge data');
  });

  it('broker outage: every tag stale, then the host reconnects and is born again', async () => {
    await load();
    await hostOnline();
    const edge = tahuEdge(broker, 'Net');
    tahuClients.push(edge.client);
    await waitFor(() => find(`${P}/Net/Pump/Motor/Speed`).length === 1, 5000, 'births');
    const port = broker.port;
    for (const c of plain.splice(0)) c.end(true);
    await broker.close();
    await waitFor(() => find(`${P}/Net/Pump/Motor/Speed`, (e) => e.quality === 'Bad_Stale').length === 1, 5000, 'stale on loss');
    assert.equal(find(`${P}/Net/Temperature`, (e) => e.quality === 'Bad_Stale').length, 1);
    broker = await startBroker(port);
    await hostOnline();
  });
});

describe('zerobus-sparkplug-in without a broker (core mqtt in / mqtt out)', function () {
  this.timeout(20_000);
  let broker: TestBroker;
  const tahuClients: TahuClient[] = [];

  beforeEach(async () => {
    broker = await startBroker();
    await helper.startServer();
  });
  afterEach(async () => {
    for (const c of tahuClients.splice(0)) {
      c.stop();
      c.client?.end(true);
    }
    await helper.unload();
    await helper.stopServer();
    await broker.close();
  });

  it('decodes from mqtt in and sends rebirth requests through mqtt out', async () => {
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'mb', type: 'mqtt-broker', broker: '127.0.0.1', port: broker.port, clientid: 'core', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
      { id: 'mi', type: 'mqtt in', z: 'tab', topic: 'spBv1.0/#', qos: '0', datatype: 'buffer', broker: 'mb', nl: false, rap: false, inputs: 0, wires: [['in']] },
      { id: 'in', type: 'zerobus-sparkplug-in', z: 'tab', broker: '', group: '+', wires: [['out'], ['mo', 'cmd']] },
      { id: 'mo', type: 'mqtt out', z: 'tab', broker: 'mb', qos: '', retain: '' },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'cmd', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['in'], uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper', z: 'tab' },
    ];
    await helper.load([coreMqtt, inNode], flow);
    const outs: Out[] = [];
    const cmds: NodeMessageInFlow[] = [];
    const errs: NodeMessageInFlow[] = [];
    helper.getNode('out').on('input', (m: NodeMessageInFlow) => outs.push(m as unknown as Out));
    helper.getNode('cmd').on('input', (m: NodeMessageInFlow) => cmds.push(m));
    helper.getNode('err').on('input', (m: NodeMessageInFlow) => errs.push(m));
    await waitFor(() => (helper.getNode('mb') as Node & { connected?: boolean }).connected === true, 5000, 'core mqtt connected');
    await broker.subscribed('core', 'spBv1.0/#');

    const edge = tahuEdge(broker, 'Core');
    tahuClients.push(edge.client);
    // births may race the subscription: data then forces a rebirth through mqtt out
    await waitFor(() => edge.births >= 1, 5000, 'births');
    edge.client.publishNodeData({ metrics: [{ name: 'Temperature', type: 'Double', value: 5 }] });
    await waitFor(() => outs.flatMap((o) => o.payload).some((e) => e.tagPath === `${P}/Core/Temperature` && e.value === 5), 8000, 'data via mqtt in');
    const e = outs.flatMap((o) => o.payload).find((x) => x.tagPath === `${P}/Core/Pump/Motor/Speed`);
    assert.equal(e?.value, -300);
    for (const c of cmds) {
      assert.match(String(c.topic), /^spBv1\.0\/Plant\/NCMD\/Core$/);
      assert.ok(Buffer.isBuffer(c.payload));
      assert.equal(tahu.decodePayload(c.payload as Buffer).metrics[0].name, 'Node Control/Rebirth');
    }
    // bad input reaches Catch, nothing else changes
    helper.getNode('in').receive({ topic: 'spBv1.0/Plant/NDATA/Core', payload: Buffer.from([0x12, 0x64]) } as never);
    helper.getNode('in').receive({ topic: 'spBv1.0/Plant/NDATA/Core', payload: 'text' } as never);
    await waitFor(() => errs.length === 2, 3000, 'catch');
  });

  it('emits a rebirth request on the commands output for data before birth', async () => {
    const flow = [
      { id: 'in', type: 'zerobus-sparkplug-in', broker: '', group: '+', outputMode: 'event', wires: [['out'], ['cmd']] },
      { id: 'out', type: 'helper' },
      { id: 'cmd', type: 'helper' },
    ];
    await helper.load([inNode], flow);
    const cmd = new Promise<NodeMessageInFlow>((r) => helper.getNode('cmd').once('input', r));
    helper.getNode('in').receive({ topic: 'spBv1.0/G/NDATA/E', payload: encodePayload({ seq: 4, metrics: [{ name: 'x', datatype: 'Int32', value: 1 }] }) } as never);
    const m = await cmd;
    assert.equal(m.topic, 'spBv1.0/G/NCMD/E');
    assert.equal((m as unknown as { qos: number }).qos, 0);
    assert.equal(tahu.decodePayload(m.payload as Buffer).metrics[0].value, true);
    // per-event output mode
    const got: NodeMessageInFlow[] = [];
    helper.getNode('out').on('input', (x: NodeMessageInFlow) => got.push(x));
    helper.getNode('in').receive({ topic: 'spBv1.0/G/NBIRTH/E', payload: encodePayload({ seq: 0, metrics: [{ name: 'a', datatype: 'Int32', value: 1 }, { name: 'b', datatype: 'String', value: 's' }] }) } as never);
    await waitFor(() => got.length === 2, 2000, 'two event messages');
    assert.equal((got[1].payload as TagEvent).value, 's');
  });
});
