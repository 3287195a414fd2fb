import assert from 'node:assert/strict';
import { numberProperty, readNumber } from '../../nodes/common/number-property';
import { resolveOutSettings, OUT_DEFAULTS } from '../../nodes/zerobus-out/settings';
import { settingsFromConfig, NODE_DEFAULTS } from '../../nodes/zerobus-batch/config';
import { resolveSettings } from '../../nodes/zerobus-ignition-in/settings';
import { hostConnectionOptions, type BrokerSettings } from '../../nodes/zerobus-sparkplug-broker/connection-options';
import { BatcherOptionsError } from '../../lib/batching';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_DEDUP_CAPACITY } from '../../lib/ignition';

describe('numeric properties (one parser for every node)', () => {
  it('reads numbers and numeric text; blank is undefined, anything else NaN', () => {
    assert.equal(readNumber(5), 5);
    assert.equal(readNumber(' 2.5 '), 2.5);
    assert.equal(readNumber('1e3'), 1000);
    assert.equal(readNumber('0x10'), 16);
    for (const blank of [undefined, null, '', '   ']) assert.equal(readNumber(blank), undefined, String(blank));
    for (const bad of ['abc', '5 MB', Infinity, NaN, '-Infinity', true, {}, [] as unknown]) assert.ok(Number.isNaN(readNumber(bad)), String(bad));
  });

  it('applies a rule: out of bounds or not a number is the fallback; whole numbers are rounded down after the check', () => {
    assert.equal(numberProperty('7', 1), 7);
    assert.equal(numberProperty('-7', 1), -7);
    assert.equal(numberProperty('x', 1), 1);
    assert.equal(numberProperty(0, 9, { min: 0 }), 0);
    assert.equal(numberProperty(-1, 9, { min: 0 }), 9);
    assert.equal(numberProperty(0, 9, { above: 0 }), 9);
    assert.equal(numberProperty(0.5, 9, { above: 0 }), 0.5);
    assert.equal(numberProperty('2.9', 9, { min: 1, integer: true }), 2);
    assert.equal(numberProperty('0.5', 9, { min: 1, integer: true }), 9);
  });

  it('zerobus-out keeps its values: any number, clamped afterwards; blank and text are the default', () => {
    const out = (def: Record<string, unknown>) => resolveOutSettings({ id: 'o', type: 'zerobus-out', z: '', name: '', spool: 'memory', ...def }, {}).sink;
    assert.equal(out({ maxInflight: '1000' }).maxInflightRecords, 1000);
    assert.equal(out({ maxInflight: 2.6 }).maxInflightRecords, 3);
    assert.equal(out({ maxInflight: -5 }).maxInflightRecords, 1);
    assert.equal(out({ maxInflight: 'lots' }).maxInflightRecords, OUT_DEFAULTS.maxInflight);
    assert.equal(out({ maxInflight: '' }).maxInflightRecords, OUT_DEFAULTS.maxInflight);
    assert.equal(out({ retryBackoffMax: '0.5' }).backoff?.maxMs, 500);
  });

  it('zerobus-batch keeps its values: any number; text that is not one is an error naming the property', () => {
    assert.equal(settingsFromConfig({ size: '250' }).options.size, 250);
    assert.equal(settingsFromConfig({ size: ' ' }).options.size, NODE_DEFAULTS.size);
    assert.equal(settingsFromConfig({ deadband: -0.5 }).options.deadband, -0.5);
    assert.throws(() => settingsFromConfig({ size: 'ten' }), (err: unknown) => err instanceof BatcherOptionsError && /size must be a number \(got "ten"\)/.test(err.message));
    assert.throws(() => settingsFromConfig({ rules: [{ match: '*', minInterval: 'soon' }] }), /rules\[0\]\.minInterval must be a number/);
    assert.equal(settingsFromConfig({ rules: [{ match: '*', deviation: '' }] }).options.rules?.[0].deviation, undefined);
  });

  it('zerobus-ignition-in keeps its values: whole numbers from 1 (the duplicate window from 0), else the default', () => {
    const ign = (def: Record<string, unknown>, runtime: Record<string, unknown> = {}) => resolveSettings({ id: 'i', type: 'zerobus-ignition-in', z: '', name: '', ...def }, runtime);
    assert.equal(ign({ maxBodyBytes: '2048.9' }).maxBodyBytes, 2048);
    assert.equal(ign({ maxBodyBytes: 0 }).maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
    assert.equal(ign({ maxBodyBytes: 'big' }).maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
    assert.equal(ign({}, { zerobusIgnitionInDedupWindow: 0 }).dedupCapacity, 0);
    assert.equal(ign({}, { zerobusIgnitionInDedupWindow: -1 }).dedupCapacity, DEFAULT_DEDUP_CAPACITY);
  });

  it('zerobus-sparkplug-broker keeps its keepalive: any positive number, else 30 s', () => {
    const base: BrokerSettings = { url: 'mqtt://broker:1883', clientId: '', hostId: 'scada', protocolVersion: '4', keepalive: '', rejectUnauthorized: true };
    const keepalive = (k: string | number) => {
      const built = hostConnectionOptions({ ...base, keepalive: k }, {});
      assert.ok(built.ok);
      return built.options.keepalive;
    };
    assert.equal(keepalive('45'), 45);
    assert.equal(keepalive(2.5), 2.5);
    for (const fallback of ['', 0, -3, 'x']) assert.equal(keepalive(fallback), 30, String(fallback));
  });
});
