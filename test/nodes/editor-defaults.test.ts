import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OUT_DEFAULTS } from '../../nodes/zerobus-out/settings';
import { NODE_DEFAULTS as BATCH_DEFAULTS } from '../../nodes/zerobus-batch/config';
import { STREAM_DEFAULTS } from '../../lib/zerobus';
import { MAX_STREAMS } from '../../lib/sink';
import {
  DEFAULT_BODY_TIMEOUT_MS, DEFAULT_DURABLE_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_BODIES, DEFAULT_MAX_EVENTS,
} from '../../lib/ignition';

/**
 * The editor's .html cannot import the runtime's constants, so its defaults (the `defaults`
 * block and the inputs' placeholders) are held to them here: one value, two spellings.
 */
function editorNumbers(type: string): { defaults: Map<string, number>; placeholders: Map<string, number> } {
  const html = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', type, `${type}.html`), 'utf8');
  const defaults = new Map<string, number>();
  // a number, or numeric text ('1') where the property also takes words (streams: 'auto')
  for (const m of html.matchAll(/^\s*(\w+): \{ value: '?(-?[\d.]+)\b/gm)) defaults.set(m[1], Number(m[2]));
  const placeholders = new Map<string, number>();
  for (const m of html.matchAll(/id="node-input-(\w+)" placeholder="(-?[\d.]+)"/g)) placeholders.set(m[1], Number(m[2]));
  return { defaults, placeholders };
}

function assertSame(type: string, runtime: Record<string, unknown>, keys: string[]): void {
  const { defaults, placeholders } = editorNumbers(type);
  for (const key of keys) {
    assert.equal(defaults.get(key), runtime[key], `${type} editor default of ${key}`);
    // not every input shows its default as a placeholder
    if (placeholders.has(key)) assert.equal(placeholders.get(key), runtime[key], `${type} placeholder of ${key}`);
  }
}

describe('editor defaults equal the runtime defaults', () => {
  it('zerobus-out, whose in-flight and request-size defaults are the client\'s', () => {
    assert.equal(OUT_DEFAULTS.maxInflight, STREAM_DEFAULTS.maxInflightRecords);
    assert.equal(OUT_DEFAULTS.batchBytes, STREAM_DEFAULTS.maxRequestBytes);
    assertSame('zerobus-out', OUT_DEFAULTS, ['maxInflight', 'batchBytes', 'spoolMaxMB', 'retryBackoffMax', 'failedRetryInterval', 'statsInterval', 'streams', 'maxStreams']);
  });

  it('zerobus-out stores streams as text ("auto" is a value too), and bounds it as the sink does', () => {
    const html = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'zerobus-out', 'zerobus-out.html'), 'utf8');
    assert.match(html, new RegExp(`^\\s*streams: \\{ value: '${OUT_DEFAULTS.streams}'`, 'm'));
    assert.equal(Number(/var MAX_STREAMS = (\d+);/.exec(html)?.[1]), MAX_STREAMS);
  });

  it('zerobus-batch', () => {
    assertSame('zerobus-batch', BATCH_DEFAULTS, ['size', 'interval', 'maxBytes', 'compMaxInterval', 'maxTags', 'maxBuffered', 'statsInterval']);
  });

  it('zerobus-ignition-in', () => {
    const runtime = {
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxEvents: DEFAULT_MAX_EVENTS,
      durableTimeout: DEFAULT_DURABLE_TIMEOUT_MS,
      bodyTimeout: DEFAULT_BODY_TIMEOUT_MS,
      maxConcurrentBodies: DEFAULT_MAX_CONCURRENT_BODIES,
    };
    assertSame('zerobus-ignition-in', runtime, Object.keys(runtime));
  });
});
