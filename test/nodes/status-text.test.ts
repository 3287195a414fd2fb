/** Status texts: short enough for one line under a node, rates that do not round a trickle to 0. */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { fitStatus, formatRate, pluralKey, StatusThrottle, STATUS_MAX_CHARS } from '../../nodes/common/status';
import { statusFor } from '../../nodes/zerobus-out/status-view';
import type { SinkStats, SinkStatus } from '../../lib/sink';

/** zerobus-out's message catalogue, as Node-RED's i18n would apply it (`__name__` placeholders). */
const catalogue = JSON.parse(fs.readFileSync(path.join(__dirname, '../../nodes/zerobus-out/locales/en-US/zerobus-out.json'), 'utf8'));
const t = (key: string, vars: Record<string, unknown> = {}): string => {
  const text = key.split('.').reduce((o: any, k) => o?.[k], catalogue['zerobus-out'] ?? catalogue) as string;
  return text.replace(/__(\w+)__/g, (_, v: string) => String(vars[v]));
};

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

  it('zerobus-out streaming: the same text on one stream, the stream count when there are more, always one line', () => {
    const streaming = { state: 'streaming' } as SinkStatus;
    const stream = (index: number) => ({ index, state: 'open', inFlight: 0, recordsOut: 0, rateOut: 0, reconnects: 0, retiring: false });
    const text = (streams: number, rateOut = 12_345, backlog = 0) =>
      statusFor(streaming, { rateOut, backlog, streams: Array.from({ length: streams }, (_, i) => stream(i)) } as unknown as SinkStats, true, t).text;
    assert.equal(text(1), 'streaming · 12k rows/s · backlog 0');
    assert.equal(text(0), 'streaming · 12k rows/s · backlog 0', 'before the first stream opens');
    assert.equal(statusFor(streaming, { rateOut: 950, backlog: 3 } as unknown as SinkStats, true, t).text, 'streaming · 950 rows/s · backlog 3');
    assert.equal(text(4), 'streaming ×4 · 12k/s · backlog 0');
    const longest = text(16, 1_234_567, 999_999);
    assert.equal(longest, 'streaming ×16 · 1.2M/s · backlog 1000k');
    assert.ok(longest!.length <= STATUS_MAX_CHARS);
    assert.equal(statusFor(streaming, { rateOut: 1, backlog: 9, streams: [stream(0), stream(1)] } as unknown as SinkStats, false, t).text, 'spool full · backlog 9', 'a full spool says so whatever the streams');
  });

  it('keeps the time of the next attempt in a failed status whatever the length of the reason', () => {
    const retryAt = new Date(2026, 0, 1, 15, 4, 12).getTime();
    const status = { state: 'failed', retryAt, error: { code: 'TOKEN_REJECTED', message: `token endpoint 127.0.0.1:39487 answered HTTP 401: ${'x'.repeat(80)}`, retryable: false } } as unknown as SinkStatus;
    const shown = fitStatus(statusFor(status, { backlog: 12 } as unknown as SinkStats, true, t));
    assert.ok(shown.text!.length <= STATUS_MAX_CHARS, shown.text);
    assert.match(shown.text!, /^auth failed: token endpoin?t?.*… · retry 15:04:12$/);
  });
});
