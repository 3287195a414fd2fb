/**
 * Per-tag compression rules on recorded tag series (test/fixtures/tags/compression-series.json):
 * the first matching rule governs a tag, the node's own filters are the default rule, each
 * rule's reduction is reported, and what a rule keeps equals what an independent reference
 * filter keeps (deadband with heartbeat, minimum interval) or what the batcher keeps with the
 * same filters as its own options (swinging door).
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { BatcherOptionsError, CompressionRules, globToRegExp, TagBatcher, type BatcherOptions, type CompressionRule } from '../../../lib/batching';
import { PACKAGE_ROOT } from '../../../lib/paths';
import { disposeHarness, makeHarness, type Harness } from './harness';

interface Series {
  dataType: string;
  points: [number, unknown][];
}
const SERIES = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'tags', 'compression-series.json'), 'utf8')) as { series: Record<string, Series> }).series;
const TEMP = '[default]Boiler/Temperature';
const PRESSURE = '[default]Boiler/Pressure';
const STATE = '[default]Line1/State';
const COUNT = '[default]Line1/Count';
const POWER = '[edge]Meter/Power';

/** Every series' events merged in event-time order, as a gateway would send them. */
function recorded(paths: string[] = Object.keys(SERIES)): Record<string, unknown>[] {
  const events = paths.flatMap((p) =>
    SERIES[p].points.map(([timestamp, value]) => ({ tagPath: p, value, quality: 'Good', qualityCode: 192, timestamp, dataType: SERIES[p].dataType })),
  );
  return events.sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
}

/** The events the batcher lets through, per tag, as [timestamp, value]. */
function run(h: Harness, events: Record<string, unknown>[]): Map<string, [number, unknown][]> {
  h.batcher.push(events);
  h.batcher.flush();
  const out = new Map<string, [number, unknown][]>();
  for (const e of h.emitted() as Record<string, unknown>[]) {
    const list = out.get(e.tagPath as string) ?? [];
    list.push([e.timestamp as number, e.value]);
    out.set(e.tagPath as string, list);
  }
  return out;
}

/** Reference: absolute deadband against the last kept value, plus heartbeat after maxMs. */
function deadbandReference(points: [number, unknown][], band: number, maxMs: number): [number, unknown][] {
  const kept: [number, unknown][] = [];
  let ref: number | undefined;
  let lastT = 0;
  for (const [t, v] of points) {
    const n = v as number;
    const passes = ref === undefined || Math.abs(n - ref) > band;
    if (passes) ref = n;
    if (passes || (maxMs > 0 && t - lastT >= maxMs)) {
      kept.push([t, v]);
      lastT = t;
    }
  }
  return kept;
}

describe('compression rules', () => {
  let h: Harness | undefined;
  afterEach(() => {
    disposeHarness(h);
    h = undefined;
  });
  const batcher = (opts: Partial<BatcherOptions>) => (h = makeHarness({ size: 100_000, intervalMs: 0, ...opts }));

  const RULES: CompressionRule[] = [
    { match: '[default]Boiler/Temp*', deadband: 0.2, maxIntervalMs: 30_000 },
    { match: '\\[default\\]Boiler/Press.*', matchType: 'regex', deviation: 0.5, maxIntervalMs: 10_000 },
    { match: '[default]line1/**', dropRepeats: true, maxIntervalMs: 60_000 },
    // never reached for Line1 tags: the rule above matches first
    { match: '[default]Line1/State', deadband: 1000 },
  ];

  it('first match wins; unmatched tags take the node\'s own filters (the default rule)', () => {
    batcher({ rules: RULES, deadbandPercent: 5 });
    const out = run(h!, recorded());
    // Line1 rule: drop repeats, a heartbeat every 60 s
    // State: RUN at 0, STOP at 50 s, RUN at 60 s; no heartbeat (the series ends at 119 s)
    assert.deepEqual(out.get(STATE)!.map(([, v]) => v), ['RUN', 'STOP', 'RUN']);
    // Count: 42 every second: the first, then the heartbeat at 60 s
    assert.deepEqual(out.get(COUNT)!.map(([t]) => (t - SERIES[COUNT].points[0][0]) / 1000), [0, 60]);
    // Temperature: what the reference deadband + heartbeat keeps
    assert.deepEqual(out.get(TEMP), deadbandReference(SERIES[TEMP].points, 0.2, 30_000));
    // Power (no rule): the node's 5 % deadband
    const power = out.get(POWER)!;
    for (let i = 1; i < power.length; i++) assert.ok(Math.abs((power[i][1] as number) - (power[i - 1][1] as number)) > 0.05 * Math.abs(power[i - 1][1] as number));
    assert.ok(power.length < SERIES[POWER].points.length);
  });

  it('a swinging-door rule keeps what the node\'s own swinging door keeps for that tag', () => {
    batcher({ rules: RULES });
    const byRule = run(h!, recorded([PRESSURE])).get(PRESSURE)!;
    disposeHarness(h);
    batcher({ swingingDoor: { deviation: 0.5, maxIntervalMs: 10_000 } });
    const byNode = run(h!, recorded([PRESSURE])).get(PRESSURE)!;
    assert.deepEqual(byRule, byNode);
    assert.ok(byRule.length < SERIES[PRESSURE].points.length / 10, `swinging door kept ${byRule.length}`);
  });

  it('reports the reduction of each rule, the default rule last', () => {
    batcher({ rules: RULES });
    run(h!, recorded());
    const stats = h!.batcher.stats().rules;
    assert.deepEqual(stats.map((r) => r.match), [...RULES.map((r) => r.match), 'default']);
    const [temp, pressure, line1, unreached, fallback] = stats;
    assert.equal(temp.in, 120);
    assert.equal(temp.out, deadbandReference(SERIES[TEMP].points, 0.2, 30_000).length);
    assert.equal(temp.dropped, 120 - temp.out);
    assert.equal(line1.in, 240);
    assert.equal(line1.out, 5);
    assert.equal(line1.dropped, 235);
    assert.equal(line1.heartbeats, 1);
    assert.equal(line1.reductionPercent, Math.round((10000 * 235) / 240) / 100);
    assert.equal(pressure.in, 1200);
    assert.equal(pressure.out + pressure.dropped, 1200);
    assert.ok(pressure.reductionPercent > 90);
    assert.deepEqual({ ...unreached, match: '' }, { match: '', in: 0, out: 0, dropped: 0, heartbeats: 0, reductionPercent: 0 });
    // power passes the default rule, which filters nothing here
    assert.deepEqual([fallback.in, fallback.out, fallback.dropped, fallback.reductionPercent], [120, 120, 0, 0]);
  });

  it('a minimum interval keeps at most one value per interval (event time)', () => {
    batcher({ rules: [{ match: '**Pressure', minIntervalMs: 1000 }] });
    const kept = run(h!, recorded([PRESSURE])).get(PRESSURE)!;
    const t0 = SERIES[PRESSURE].points[0][0];
    assert.deepEqual(kept.map(([t]) => t - t0), Array.from({ length: 120 }, (_, i) => i * 1000));
    assert.equal(h!.batcher.stats().filters.minInterval.in, 1200);
    assert.equal(h!.batcher.stats().filters.minInterval.out, 120);
  });

  it('a change of quality always passes, whatever the rule', () => {
    batcher({ rules: [{ match: '**', dropRepeats: true, minIntervalMs: 60_000 }] });
    const e = (t: number, quality: string, qualityCode: number) => ({ tagPath: '[default]A', value: 1, quality, qualityCode, timestamp: t });
    h!.batcher.push([e(0, 'Good', 192), e(10, 'Good', 192), e(20, 'Bad', 8), e(30, 'Bad', 8), e(40, 'Good', 192)]);
    h!.batcher.flush();
    assert.deepEqual((h!.emitted() as { timestamp: number }[]).map((x) => x.timestamp), [0, 20, 40]);
  });

  it('glob patterns: * stays within a segment, ** crosses, ? is one character, case-insensitive', () => {
    assert.ok(globToRegExp('[default]Boiler/*').test('[default]Boiler/Temp'));
    assert.ok(!globToRegExp('[default]Boiler/*').test('[default]Boiler/Sub/Temp'));
    assert.ok(globToRegExp('[default]Boiler/**').test('[default]Boiler/Sub/Temp'));
    assert.ok(globToRegExp('[default]Pump?/Speed').test('[DEFAULT]pump1/speed'));
    assert.ok(!globToRegExp('[default]Pump?/Speed').test('[default]Pump12/Speed'));
    // brackets, dots and other regex characters are literal
    assert.ok(!globToRegExp('[default]A.B').test('[default]AxB'));
    assert.ok(!globToRegExp('[default]A').test('d'));
  });

  it('a regular expression must match the whole tag path', () => {
    const rules = new CompressionRules([{ match: 'Boiler/.*', matchType: 'regex', deadband: 1 }], { deadband: 0, deadbandPercent: 0, dropRepeats: false, swingingDoor: undefined });
    assert.equal(rules.ruleFor('[default]Boiler/Temp').match, 'default');
    assert.equal(rules.ruleFor('Boiler/Temp').match, 'Boiler/.*');
  });

  it('refuses bad rules, naming the rule and the field', () => {
    const bad: [CompressionRule[], string][] = [
      [[{ match: '' }], 'rules[0].match'],
      [[{ match: 'a' }, { match: '([', matchType: 'regex' }], 'rules[1].match'],
      [[{ match: 'a', matchType: 'wild' as never }], 'rules[0].matchType'],
      [[{ match: 'a', deadband: -1 }], 'rules[0].deadband'],
      [[{ match: 'a', minIntervalMs: Number.NaN }], 'rules[0].minIntervalMs'],
      [[{ match: 'a', deviation: -0.5 }], 'rules[0].deviation'],
    ];
    for (const [rules, option] of bad) {
      assert.throws(() => new TagBatcher({ size: 10, intervalMs: 0, rules }, { onBatch: () => undefined }), (err: unknown) => err instanceof BatcherOptionsError && err.option === option, option);
    }
  });
});
