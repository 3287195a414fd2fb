/**
 * zerobus-batch's per-tag compression rules as a user sets them: the editor's rule rows (numbers
 * as text, blanks for "off", deadband unit, heartbeat) drive the filters in a running flow and
 * the statistics report each rule's reduction; a bad rule is reported naming the rule. The
 * example flow "05 Compression rules" carries every property the editor defines, for every
 * node of the package and every rule row, so the editor shows exactly what the runtime runs.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { SinonSpy } from 'sinon';
import { PACKAGE_ROOT } from '../../lib/paths';
import { settingsFromConfig, type BatchNodeConfig } from '../../nodes/zerobus-batch/config';
import { NODE_RED_PATH } from '../support/node-red-path';

const helper = require('node-red-node-test-helper');
helper.init(NODE_RED_PATH);
const batchNode = require('../../nodes/zerobus-batch/zerobus-batch').default as (RED: NodeAPI) => void;

type Msg = NodeMessageInFlow & Record<string, unknown>;
interface TestNode extends Node {
  receive(msg: Record<string, unknown>): void;
}

const EXAMPLE = path.join(PACKAGE_ROOT, 'examples', '05 Compression rules.json');

function nextMessage(id: string): Promise<Msg> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

/** The keys of `defaults: {…}` in a package node's editor file (one key per line). */
function editorDefaults(type: string): string[] {
  const html = fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', type, `${type}.html`), 'utf8');
  const block = /\n(\s*)defaults: \{\n([\s\S]*?)\n\1\},/.exec(html);
  assert.ok(block, `${type}: defaults block`);
  const indent = block[1] + '  ';
  return [...block[2].matchAll(new RegExp(`^${indent}([A-Za-z]+):`, 'gm'))].map((m) => m[1]);
}

/** The keys of the editor's RULE_DEFAULTS (what every rule row stores). */
function ruleRowKeys(): string[] {
  const html = fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', 'zerobus-batch', 'zerobus-batch.html'), 'utf8');
  const literal = /var RULE_DEFAULTS = (\{[^}]*\});/.exec(html)?.[1];
  assert.ok(literal, 'RULE_DEFAULTS in the editor');
  return [...literal.matchAll(/([A-Za-z]+):/g)].map((m) => m[1]);
}

describe('zerobus-batch compression rules in a flow', () => {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const flow = (props: Record<string, unknown>) => [
    { id: 'tab', type: 'tab' },
    { id: 'b', z: 'tab', type: 'zerobus-batch', size: 100, interval: 0, statsInterval: 0, x: 1, y: 1, ...props, wires: [['out'], ['stats']] },
    { id: 'out', z: 'tab', type: 'helper', x: 1, y: 1 },
    { id: 'stats', z: 'tab', type: 'helper', x: 1, y: 1 },
  ];
  const ev = (tagPath: string, value: unknown, timestamp: number) => ({ tagPath, value, quality: 'Good', qualityCode: 192, timestamp, dataType: 'Float8' });

  it('applies the first matching row, the node\'s filters elsewhere, and reports each rule', async () => {
    const rules = [
      { match: '[default]Boiler/*', matchType: 'glob', deadband: '10', deadbandUnit: 'percent', dropRepeats: false, minInterval: '', deviation: '', maxInterval: '5000' },
      { match: '.*Boiler.*', matchType: 'regex', deadband: '', deadbandUnit: 'abs', dropRepeats: 'true', minInterval: '', deviation: '', maxInterval: '' },
    ];
    await helper.load([batchNode], flow({ deadband: 1, rules }));
    const b = helper.getNode('b') as TestNode;
    const out = nextMessage('out');
    b.receive({
      payload: [
        // rule 1: 10 % of the last sent value; 104 and 108 are within 10 % of 100; at 5 s a heartbeat
        ev('[default]Boiler/Temp', 100, 0), ev('[default]Boiler/Temp', 104, 1000), ev('[default]Boiler/Temp', 108, 2000), ev('[default]Boiler/Temp', 111, 3000),
        ev('[default]Boiler/Temp', 112, 8000),
        // rule 2 (the glob does not cross '/'): repeats dropped
        ev('[default]Boiler/Sub/State', 1, 0), ev('[default]Boiler/Sub/State', 1, 1000), ev('[default]Boiler/Sub/State', 2, 2000),
        // no rule: the node's absolute deadband of 1
        ev('[default]Other', 1, 0), ev('[default]Other', 1.5, 1000), ev('[default]Other', 2.5, 2000),
      ],
      flush: true,
    });
    const values = ((await out).payload as { tagPath: string; value: number }[]).map((e) => `${e.tagPath.slice(9)}=${e.value}`);
    assert.deepEqual(values, ['Boiler/Temp=100', 'Boiler/Temp=111', 'Boiler/Temp=112', 'Boiler/Sub/State=1', 'Boiler/Sub/State=2', 'Other=1', 'Other=2.5']);
  });

  it('reports the reduction of each rule on the statistics output', async () => {
    const rules = [{ match: '**', matchType: 'glob', deadband: '', deadbandUnit: 'abs', dropRepeats: true, minInterval: '', deviation: '', maxInterval: '' }];
    await helper.load([batchNode], flow({ rules, statsInterval: 0.05 }));
    const b = helper.getNode('b') as TestNode;
    b.receive({ payload: [ev('[default]A', 1, 0), ev('[default]A', 1, 1), ev('[default]A', 1, 2), ev('[default]A', 2, 3)] });
    const stats = await nextMessage('stats');
    const rows = (stats.payload as { rules: { match: string; in: number; out: number; dropped: number; reductionPercent: number }[] }).rules;
    assert.deepEqual(rows.map((r) => [r.match, r.in, r.out, r.dropped, r.reductionPercent]), [['**', 4, 2, 2, 50], ['default', 0, 0, 0, 0]]);
  });

  it('reports a bad rule naming it, and refuses input', async () => {
    await helper.load([batchNode], flow({ rules: [{ match: '[default]A' }, { match: '(', matchType: 'regex' }] }));
    const b = helper.getNode('b') as TestNode & { error: SinonSpy };
    assert.ok(b.error.calledWithMatch(/rules\[1\]\.match/));
  });

  it('example 05 carries every property the editor defines, and its rules mean what the editor shows', () => {
    const nodes = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>[];
    const tab = nodes.find((n) => n.type === 'tab')!;
    assert.deepEqual(Object.keys(tab).sort(), ['disabled', 'env', 'id', 'info', 'label', 'locked', 'type']);
    for (const node of nodes.filter((n) => String(n.type).startsWith('zerobus-'))) {
      for (const key of editorDefaults(String(node.type))) assert.ok(key in node, `${String(node.type)} ${String(node.id)} lacks ${key}`);
    }
    const batch = nodes.find((n) => n.type === 'zerobus-batch')! as BatchNodeConfig & Record<string, unknown>;
    const rows = batch.rules as Record<string, unknown>[];
    for (const row of rows) assert.deepEqual(Object.keys(row).sort(), ruleRowKeys().sort());
    const { options } = settingsFromConfig(batch);
    assert.deepEqual(options.rules, [
      { match: '[default]Compression/Boiler/Temp*', matchType: 'glob', deadband: 0.2, deadbandPercent: 0, dropRepeats: false, minIntervalMs: 0, deviation: undefined, maxIntervalMs: 30000 },
      { match: '\\[default\\]Compression/Boiler/Press.*', matchType: 'regex', deadband: 0, deadbandPercent: 0, dropRepeats: false, minIntervalMs: 0, deviation: 0.05, maxIntervalMs: 10000 },
      { match: '[default]Compression/Line1/**', matchType: 'glob', deadband: 0, deadbandPercent: 0, dropRepeats: true, minIntervalMs: 1000, deviation: undefined, maxIntervalMs: 60000 },
    ]);
  });
});
