import assert from 'node:assert/strict';
import { LatencyWindow } from '../../../lib/zerobus/metrics';
import { LatencyWindow as SinkLatencyWindow } from '../../../lib/sink/meters';

describe('latency percentiles (one window for stream and sink)', () => {
  it('the sink measures with the stream\'s window, not a copy', () => {
    assert.equal(SinkLatencyWindow, LatencyWindow);
  });

  it('p99 is the nearest rank: of 100 samples the 99th smallest, not the maximum', () => {
    const w = new LatencyWindow(100);
    for (let i = 100; i >= 1; i--) w.add(i);
    assert.deepEqual(w.percentiles(), { p50: 50, p99: 99, max: 100 });
    assert.deepEqual(w.summary(), { p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('keeps the most recent samples only, and rounds to 0.01 ms', () => {
    const w = new LatencyWindow(4);
    assert.deepEqual(w.percentiles(), { p50: 0, p99: 0, max: 0 });
    for (const ms of [900, 900, 900, 900, 1.234, 1.234, 2.345, 3.456]) w.add(ms);
    assert.deepEqual(w.percentiles(), { p50: 1.23, p99: 3.46, max: 3.46 });
  });
});
