/**
 * Test harness for zerobus-ignition-in flows: captures RED (for supertest on RED.httpNode) and
 * registers a test-only durable sink type that settles delivery tickets the way zerobus-out does,
 * and publishes itself in the sink registry.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { deliveryTracker, ticketsOf } from '../../../lib/delivery/tickets';
import { sinkRegistry } from '../../../lib/delivery/sinks';
import { NODE_RED_PATH } from '../../support/node-red-path';

export const helper = require('node-red-node-test-helper');
helper.init(NODE_RED_PATH);

const ignitionIn = require('../../../nodes/zerobus-ignition-in/zerobus-ignition-in').default as (RED: NodeAPI) => void;
export const functionNode = require('@node-red/nodes/core/function/10-function.js');
export const changeNode = require('@node-red/nodes/core/function/15-change.js');

export const captured: { RED?: NodeAPI } = {};
export function ignitionInCapturing(RED: NodeAPI): void {
  captured.RED = RED;
  ignitionIn(RED);
}

export type SinkMode = 'settle' | 'never' | 'fail' | 'manual';

/** What the test sinks saw and how they behave; reset in beforeEach. */
export const sinkControl = {
  accepting: true,
  delayMs: 10,
  received: [] as NodeMessageInFlow[],
  held: [] as NodeMessageInFlow[],
  /** while true, a closing sink waits for its `done` in `closing` (a slow close during a deploy) */
  holdClose: false,
  closing: [] as (() => void)[],
  reset(): void {
    this.accepting = true;
    this.delayMs = 10;
    this.received = [];
    this.held = [];
    this.holdClose = false;
    this.closing = [];
  },
};

interface TestSinkDef extends NodeDef {
  mode?: SinkMode;
}

export function testSinkType(RED: NodeAPI): void {
  function TestDurableSink(this: Node, def: TestSinkDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const timers = new Set<NodeJS.Timeout>();
    /** events settled in 'settle' mode: this sink stores and acknowledges at once */
    let acknowledged = 0;
    const unregister = sinkRegistry.register(node.id, () => ({
      id: node.id,
      name: node.name,
      table: 'main.ot.tag_events',
      accepting: sinkControl.accepting,
      connected: sinkControl.accepting,
      state: sinkControl.accepting ? 'streaming' : 'spool full',
      backlog: 0,
      acknowledged,
      instance: 1,
    }));
    node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: () => void) => {
      sinkControl.received.push(msg);
      const mode = def.mode ?? 'settle';
      if (mode === 'never') return done();
      if (mode === 'manual') {
        sinkControl.held.push(msg);
        return done();
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (mode === 'fail') deliveryTracker.settleAll(ticketsOf(msg), 'value does not fit the table');
        else {
          deliveryTracker.settleAll(ticketsOf(msg));
          acknowledged += Array.isArray(msg.payload) ? msg.payload.length : 1;
        }
        done();
      }, sinkControl.delayMs);
      timers.add(timer);
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      for (const t of timers) clearTimeout(t);
      unregister();
      if (sinkControl.holdClose) sinkControl.closing.push(done);
      else done();
    });
  }
  RED.nodes.registerType('test-durable-sink', TestDurableSink as never);
}

/** A tag event as the 8.1 script sends it. */
export function ev(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tagPath: `[default]Line1/Tag${i}`,
    tagProvider: 'default',
    value: i * 1.5,
    quality: 'Good',
    qualityCode: 192,
    timestamp: 1765456245123 + i,
    dataType: 'float',
    ...extra,
  };
}

export function flowOf(opts: { ack?: string; path?: string; maxBodyBytes?: number; maxEvents?: number; durableTimeout?: number; sinkMode?: SinkMode; viaFunction?: boolean; extra?: Record<string, unknown>[] } = {}): Record<string, unknown>[] {
  const first = opts.viaFunction === false ? 'sink' : 'fn';
  const flow: Record<string, unknown>[] = [
    { id: 'tab', type: 'tab', label: 'test' },
    {
      id: 'in',
      z: 'tab',
      type: 'zerobus-ignition-in',
      name: '',
      path: opts.path ?? '/system/zerobus',
      ack: opts.ack ?? 'durable',
      maxBodyBytes: opts.maxBodyBytes ?? 10485760,
      maxEvents: opts.maxEvents ?? 10000,
      durableTimeout: opts.durableTimeout ?? 5000,
      wires: [[first, 'out']],
    },
    // a function node that modifies the message (tickets must survive) and a change node
    { id: 'fn', z: 'tab', type: 'function', func: 'msg.payload = msg.payload.map(e => Object.assign({}, e, { sourceSystem: "plant-a" }));\nreturn msg;', outputs: 1, wires: [['chg']] },
    { id: 'chg', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'tags', tot: 'str' }], wires: [['sink']] },
    { id: 'sink', z: 'tab', type: 'test-durable-sink', mode: opts.sinkMode ?? 'settle', wires: [] },
    { id: 'out', z: 'tab', type: 'helper' },
    ...(opts.extra ?? []),
  ];
  return flow;
}

/** mocha hooks: a fresh Node-RED test server, default settings and test sinks for every test. */
export function useNodeRedServer(): void {
  beforeEach(async () => {
    sinkControl.reset();
    helper.settings({});
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    helper.settings({});
  });
}

export async function loadFlow(flow: Record<string, unknown>[], credentials: Record<string, unknown> = {}): Promise<NodeAPI> {
  await helper.load([ignitionInCapturing, testSinkType, functionNode, changeNode], flow, credentials);
  return captured.RED!;
}
