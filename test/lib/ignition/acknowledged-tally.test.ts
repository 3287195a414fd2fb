/**
 * The module's `totalEventsSent` (acknowledged by Zerobus) read from sinks that count from their
 * own start: acknowledgements before the receiver started are not its own, a redeployed sink
 * counts again from zero, and a sink seen for the first time later counts in full.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'http';
import type { SinkState } from '../../../lib/delivery/sinks';
import { AcknowledgedTally, requestSourceSystem } from '../../../lib/ignition';

const sink = (id: string, acknowledged: number, instance = 1): SinkState => ({
  id, table: 'main.ot.tag_events', accepting: true, connected: true, state: 'streaming', backlog: 0, acknowledged, instance,
});

describe('AcknowledgedTally', () => {
  it('counts from the receiver\'s start, across restarts and new sinks', () => {
    const tally = new AcknowledgedTally([sink('a', 100)]);
    assert.equal(tally.observe([sink('a', 100)]), 0);
    assert.equal(tally.observe([sink('a', 130)]), 30);
    // sink a redeployed: a new instance counting from zero
    assert.equal(tally.observe([sink('a', 5, 2)]), 35);
    // sink b deployed after the receiver started: all of its acknowledgements count
    assert.equal(tally.observe([sink('a', 5, 2), sink('b', 7)]), 42);
    // looking again changes nothing
    assert.equal(tally.observe([sink('a', 5, 2), sink('b', 7)]), 42);
    assert.equal(tally.total, 42);
  });

  it('ignores sinks that report no count', () => {
    const tally = new AcknowledgedTally();
    const { acknowledged: _ignored, ...bare } = sink('x', 0);
    assert.equal(tally.observe([bare]), 0);
  });
});

describe('requestSourceSystem', () => {
  const req = (url: string, headers: Record<string, string | string[]> = {}) => ({ url, headers }) as unknown as IncomingMessage;

  it('takes the header first, then the query parameter, trimmed', () => {
    assert.deepEqual(requestSourceSystem(req('/x?sourceSystem=q', { 'x-source-system': ' h ' })), { ok: true, sourceSystem: 'h' });
    assert.deepEqual(requestSourceSystem(req('/x?sourceSystem=plant%20a')), { ok: true, sourceSystem: 'plant a' });
    assert.deepEqual(requestSourceSystem(req('/x?other=1')), { ok: true, sourceSystem: undefined });
    assert.deepEqual(requestSourceSystem(req('/x')), { ok: true, sourceSystem: undefined });
  });

  it('refuses empty, repeated, over-long and control-character values', () => {
    for (const bad of [
      req('/x', { 'x-source-system': '' }),
      req('/x', { 'x-source-system': ['a', 'b'] }),
      req('/x?sourceSystem='),
      req('/x?sourceSystem=a&sourceSystem=b'),
      req(`/x?sourceSystem=${'a'.repeat(257)}`),
      req('/x?sourceSystem=a%0Ab'),
    ]) {
      assert.equal(requestSourceSystem(bad).ok, false, bad.url);
    }
  });
});
