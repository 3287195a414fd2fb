/** zerobus-out's `streams`, `maxStreams` and `partitionColumn`: from the flow to the sink options, and how they are shown. */
import assert from 'node:assert/strict';
import { resolveOutSettings, OUT_DEFAULTS, type ZerobusOutDef } from '../../nodes/zerobus-out/settings';
import { perStreamFigures, streamsChip } from '../../nodes/zerobus-out/stream-figures';
import { MAX_STREAMS, type SinkStats, type SinkStreamStats } from '../../lib/sink';
import { READINGS_SQL, READINGS_TABLE } from '../lib/sink/helpers';

const resolve = (def: Partial<ZerobusOutDef>) => resolveOutSettings({ id: 'o', type: 'zerobus-out', z: '', name: '', spool: 'memory', ...def } as ZerobusOutDef, {});

describe('zerobus-out streams settings', () => {
  it('defaults to one stream, a ceiling of 4 for auto and round robin, with nothing to warn about', () => {
    const { sink, invalid } = resolve({});
    assert.equal(sink.streams, 1);
    assert.equal(sink.maxStreams, 4);
    assert.equal(sink.partitionColumn, '');
    assert.deepEqual(invalid, []);
    assert.equal(OUT_DEFAULTS.streams, 1);
    assert.equal(MAX_STREAMS, 16);
  });

  it('takes a whole number from 1 to 16 as text or number, and "auto" in any case', () => {
    assert.equal(resolve({ streams: '4' }).sink.streams, 4);
    assert.equal(resolve({ streams: ' 16 ' }).sink.streams, 16);
    assert.equal(resolve({ streams: 2 }).sink.streams, 2);
    assert.equal(resolve({ streams: '1' }).sink.streams, 1);
    for (const auto of ['auto', 'AUTO', ' Auto ']) assert.equal(resolve({ streams: auto }).sink.streams, 'auto', auto);
    for (const blank of ['', '  ', undefined]) {
      const r = resolve({ streams: blank });
      assert.equal(r.sink.streams, 1, String(blank));
      assert.deepEqual(r.invalid, [], 'blank is the default, not a mistake');
    }
  });

  it('a bad stream count runs one stream and names the value, so the node can warn', () => {
    for (const bad of ['0', '17', '-2', '2.5', 'many', 'automatic', 'NaN', 99]) {
      const r = resolve({ streams: bad });
      assert.equal(r.sink.streams, 1, String(bad));
      assert.deepEqual(r.invalid, [{ property: 'streams', value: String(bad), fallback: '1' }], String(bad));
    }
  });

  it('maxStreams bounds auto (1 to 16); it is ignored, bad or not, with a fixed count', () => {
    assert.equal(resolve({ streams: 'auto', maxStreams: '8' }).sink.maxStreams, 8);
    assert.equal(resolve({ streams: 'auto', maxStreams: 1 }).sink.maxStreams, 1);
    assert.equal(resolve({ streams: 'auto', maxStreams: '' }).sink.maxStreams, 4);
    const bad = resolve({ streams: 'auto', maxStreams: '32' });
    assert.equal(bad.sink.maxStreams, 4);
    assert.deepEqual(bad.invalid, [{ property: 'maxStreams', value: '32', fallback: '4' }]);
    assert.deepEqual(resolve({ streams: 'auto', maxStreams: 'lots' }).invalid.map((p) => p.property), ['maxStreams']);
    const fixed = resolve({ streams: '2', maxStreams: 'lots' });
    assert.equal(fixed.sink.maxStreams, 4);
    assert.deepEqual(fixed.invalid, [], 'a hidden, unused ceiling is not worth a warning');
  });

  it('partitionColumn applies to rows only, spelt as the schema spells it; a column the schema lacks means round robin', () => {
    assert.equal(resolve({ format: 'ot-event', partitionColumn: 'site' }).sink.partitionColumn, '', 'tag events go by tag path');
    assert.equal(resolve({ format: 'rows', recordType: 'json', partitionColumn: ' site ' }).sink.partitionColumn, 'site', 'without a schema it is taken as written');
    const rows = { format: 'rows', table: READINGS_TABLE, schema: READINGS_SQL };
    assert.equal(resolve({ ...rows, partitionColumn: 'name' }).sink.partitionColumn, 'name');
    assert.equal(resolve({ ...rows, partitionColumn: 'NAME' }).sink.partitionColumn, 'name');
    const missing = resolve({ ...rows, partitionColumn: 'plant' });
    assert.equal(missing.sink.partitionColumn, '');
    assert.deepEqual(missing.invalid, [{ property: 'partitionColumn', value: 'plant', fallback: '' }]);
  });
});

describe('zerobus-out streams in the sidebar', () => {
  const stream = (index: number, extra: Partial<SinkStreamStats> = {}): SinkStreamStats => ({
    index, state: 'open', inFlight: 10 * index, recordsOut: 1000, rateOut: 500 + index, reconnects: 0, retiring: false, ...extra,
  });
  const stats = (streams: SinkStreamStats[], streamsMode: number | 'auto', maxStreams = 4) => ({ streams, streamsMode, maxStreams }) as Pick<SinkStats, 'streams' | 'streamsMode' | 'maxStreams'>;

  it('one fixed stream: no chip and no per-stream rows, so the card stays as it was', () => {
    assert.deepEqual(streamsChip(stats([stream(0)], 1)), {});
    assert.equal(perStreamFigures(stats([stream(0)], 1)), undefined);
  });

  it('several streams: the count, and a row per stream with state, in flight and acked/s', () => {
    const four = stats([0, 1, 2, 3].map((i) => stream(i, i === 3 ? { state: 'reconnecting' } : {})), 4);
    assert.deepEqual(streamsChip(four), { streams: '4' });
    const rows = perStreamFigures(four)!;
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[3], { index: 3, state: 'reconnecting', inFlight: 30, ackedPerSec: 503, retiring: false });
  });

  it('auto: the streams it runs now and its ceiling, even while it runs one', () => {
    assert.deepEqual(streamsChip(stats([stream(0)], 'auto', 8)), { streams: '1 (auto, max 8)' });
    assert.deepEqual(streamsChip(stats([], 'auto', 8)), { streams: '1 (auto, max 8)' }, 'the stream it starts with, before it opened');
    const closing = stats([stream(0), stream(1, { retiring: true })], 'auto', 8);
    assert.deepEqual(streamsChip(closing), { streams: '2 (auto, max 8)' });
    assert.equal(perStreamFigures(closing)![1].retiring, true);
  });
});
