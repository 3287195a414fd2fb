/** Status texts: short enough for one line under a node, rates that do not round a trickle to 0. */
import assert from 'node:assert/strict';
import { fitStatus, formatRate, pluralKey, StatusThrottle, STATUS_MAX_CHARS } from '../../nodes/shared/status';

describe('status texts', () => {
  it('cuts a long text to one short line with an ellipsis, and keeps a short one as it is', () => {
    const long = fitStatus({ fill: 'red', shape: 'ring', text: `failed: ${'x'.repeat(200)}\nsecond line` });
    assert.equal(long.text!.length, STATUS_MAX_CHARS);
    assert.match(long.text!, /^failed: x+…$/);
    assert.deepEqual(fitStatus({ fill: 'green', shape: 'dot', text: 'streaming' }), { fill: 'green', shape: 'dot', text: 'streaming' });
    assert.deepEqual(fitStatus({}), {});
  });

  it('shows every status through the throttle cut to size, the final one too', () => {
    const shown: { text?: string }[] = [];
    const throttle = new StatusThrottle({ status: (s: object) => shown.push(s as { text?: string }) } as never, 10);
    throttle.now({ text: 'y'.repeat(100) });
    throttle.close({ text: 'z'.repeat(100) });
    assert.deepEqual(shown.map((s) => s.text!.length), [STATUS_MAX_CHARS, STATUS_MAX_CHARS]);
  });

  it('formats rates: one decimal below 10, so one event every 5 s reads 0.2, not 0', () => {
    assert.equal(formatRate(0), '0');
    assert.equal(formatRate(0.2), '0.2');
    assert.equal(formatRate(4.44), '4.4');
    assert.equal(formatRate(950), '950');
    assert.equal(formatRate(12_345), '12k');
    assert.equal(formatRate(1_234), '1.2k');
    assert.equal(formatRate(2_500_000), '2.5M');
  });

  it('picks the singular key for exactly one', () => {
    assert.equal(pluralKey('status.devices', 1), 'status.devicesOne');
    assert.equal(pluralKey('status.devices', 0), 'status.devicesMany');
    assert.equal(pluralKey('status.devices', 2), 'status.devicesMany');
  });
});
