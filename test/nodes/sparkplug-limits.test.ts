/**
 * zerobus-sparkplug-in's bounds as a user sets them in the editor, and topics with wildcard ids
 * arriving on its input (an mqtt in node passes on whatever it gets).
 */
import assert from 'node:assert/strict';
import type { NodeMessageInFlow } from 'node-red';
import inNode from '../../nodes/zerobus-sparkplug-in/zerobus-sparkplug-in';
import { encodePayload } from '../../lib/sparkplug';
import { waitFor } from '../fixtures/sparkplug/broker';
import { NODE_RED_PATH } from '../support/node-red-path';

const helper = require('node-red-node-test-helper');
helper.init(NODE_RED_PATH);

const birth = (blobChars: number) => encodePayload({ seq: 0, metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }, { name: 'Blob', datatype: 'String', value: 'x'.repeat(blobChars) }] });

describe('zerobus-sparkplug-in: limits and hostile topics', function () {
  this.timeout(20_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function load(props: Record<string, unknown>): Promise<{ events: NodeMessageInFlow[]; commands: NodeMessageInFlow[] }> {
    await helper.load([inNode], [
      { id: 'in', type: 'zerobus-sparkplug-in', broker: '', group: '+', wires: [['out'], ['cmd']], ...props },
      { id: 'out', type: 'helper' },
      { id: 'cmd', type: 'helper' },
    ]);
    const events: NodeMessageInFlow[] = [];
    const commands: NodeMessageInFlow[] = [];
    helper.getNode('out').on('input', (m: NodeMessageInFlow) => events.push(m));
    helper.getNode('cmd').on('input', (m: NodeMessageInFlow) => commands.push(m));
    return { events, commands };
  }

  it('applies the edge node and MB bounds set on the node, and shows refusals in its status', async () => {
    const { events } = await load({ maxEdgeNodes: 2, maxStateMB: 1 });
    const input = helper.getNode('in');
    input.receive({ topic: 'spBv1.0/G/NBIRTH/E1', payload: birth(100) });
    input.receive({ topic: 'spBv1.0/G/NBIRTH/E2', payload: birth(400_000) }); // 0.8 MB of state: within 1 MB
    input.receive({ topic: 'spBv1.0/G/NBIRTH/E3', payload: birth(100) }); // a third edge node: refused
    input.receive({ topic: 'spBv1.0/G/NBIRTH/E1', payload: birth(200_000) }); // a rebirth that no longer fits in 1 MB
    await waitFor(() => events.length === 2, 3000, 'two births accepted');
    await waitFor(() => input.status.args.some((a: { text?: string }[]) => /^limits: 2 refused, 0 evicted/.test(a[0].text ?? '')), 3000, 'status');
    const warnings = input.warn.args.map((a: unknown[]) => String(a[0]));
    assert.ok(warnings.some((w: string) => /more than 2 edge nodes: G\/E3/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w: string) => /bytes of edge node state: NBIRTH of G\/E1 refused/.test(w)), warnings.join('\n'));
  });

  it('builds no rebirth command for a topic whose ids are wildcards', async () => {
    const { commands } = await load({});
    const input = helper.getNode('in');
    const data = encodePayload({ seq: 3, metrics: [{ name: 'x', datatype: 'Int32', value: 1 }] });
    input.receive({ topic: 'spBv1.0/+/NDATA/#', payload: data });
    input.receive({ topic: 'spBv1.0/G/NDATA/E', payload: data }); // a real one: data before birth asks for a rebirth
    await waitFor(() => commands.length >= 1, 3000, 'a command');
    assert.deepEqual(commands.map((c) => c.topic), ['spBv1.0/G/NCMD/E']);
    assert.ok(input.warn.args.some((a: unknown[]) => /"spBv1\.0\/\+\/NDATA\/#" is not a Sparkplug B topic/.test(String(a[0]))));
  });
});
