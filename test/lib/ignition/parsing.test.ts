import assert from 'node:assert/strict';
import { checkContentType, JsonBodyError, parseJsonBody, createApiKeyCheck, checkBodyShape, checkItem, checkValueSize } from '../../../lib/ignition';

describe('ignition: tolerant JSON', () => {
  it('parses normal JSON on the fast path', () => {
    assert.deepEqual(parseJsonBody('[{"a":1,"b":"NaN"}]'), [{ a: 1, b: 'NaN' }]);
  });

  it('accepts bare NaN, Infinity and -Infinity tokens as numbers', () => {
    const v = parseJsonBody('[{"value": NaN}, {"value":Infinity},{"value":-Infinity, "x":[NaN,1]}]') as { value: number; x?: number[] }[];
    assert.ok(Number.isNaN(v[0].value));
    assert.equal(v[1].value, Infinity);
    assert.equal(v[2].value, -Infinity);
    assert.ok(Number.isNaN(v[2].x![0]));
    assert.equal(v[2].x![1], 1);
  });

  it('leaves the same words inside strings and keys alone, escapes included', () => {
    const v = parseJsonBody('{"NaN": "say \\"NaN\\" Infinity", "v": NaN, "s": "-Infinity"}') as Record<string, unknown>;
    assert.equal(v.NaN, 'say "NaN" Infinity');
    assert.equal(v.s, '-Infinity');
    assert.ok(Number.isNaN(v.v as number));
  });

  it('refuses malformed JSON with a short message, also when it contains NaN', () => {
    for (const bad of ['', '{', '[1,]', '{"a":NaNa}', '[NaN', 'NaN NaN', '[Infinityx]', '\u0000\u0001\u00ff', 'x'.repeat(100_000)]) {
      assert.throws(() => parseJsonBody(bad), (e: unknown) => e instanceof JsonBodyError && e.message.length < 260, bad.slice(0, 20));
    }
  });

  it('handles 10k levels of nesting without overflowing the stack', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    assert.ok(Array.isArray(parseJsonBody(deep)));
    const deepNaN = '['.repeat(10_000) + 'NaN' + ']'.repeat(10_000);
    assert.ok(Array.isArray(parseJsonBody(deepNaN)));
  });
});

describe('ignition: content type', () => {
  it('accepts JSON types and +json, with charsets', () => {
    for (const ct of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"', 'application/json; charset=ISO-8859-1', 'application/vnd.ignition+json', 'text/json']) {
      assert.equal(checkContentType(ct).ok, true, String(ct));
    }
    const latin = checkContentType('application/json; charset=iso-8859-1');
    assert.ok(latin.ok && latin.encoding === 'latin1');
  });

  it('refuses other types, charsets and compressed bodies', () => {
    for (const ct of [undefined, '', ' ', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-16', 'text/html', 'text/plain', 'text/plain; charset=utf-8', 'application/xml']) {
      const r = checkContentType(ct);
      assert.equal(r.ok, false, ct);
    }
    assert.equal(checkContentType('application/json', 'gzip').ok, false);
    assert.equal(checkContentType('application/json', 'identity').ok, true);
  });
});

describe('ignition: API key', () => {
  it('is off without a key and needs the exact bearer key with one', () => {
    assert.equal(createApiKeyCheck(undefined), undefined);
    assert.equal(createApiKeyCheck(''), undefined);
    const check = createApiKeyCheck('s3cret-key')!;
    assert.equal(check('Bearer s3cret-key'), true);
    assert.equal(check('bearer   s3cret-key  '), true);
    for (const h of [undefined, '', 'Bearer', 'Bearer s3cret-ke', 'Bearer s3cret-key2', 's3cret-key', 'Basic s3cret-key', ['Bearer s3cret-key']]) {
      assert.equal(check(h as string | undefined), false, String(h));
    }
  });
});

describe('ignition: shapes and limits', () => {
  it('tells which shape each route takes', () => {
    assert.equal(checkBodyShape('batch', []), null);
    assert.equal(checkBodyShape('single', {}), null);
    assert.match(checkBodyShape('batch', {})!, /array.*\/ingest/);
    assert.match(checkBodyShape('single', [])!, /object.*ingest\/batch/);
    assert.match(checkBodyShape('batch', 'x')!, /got a string/);
    assert.match(checkBodyShape('single', null)!, /got null/);
    assert.match(checkBodyShape('batch', 42)!, /got a number/);
  });

  it('refuses events over the limits with a reason naming the field', () => {
    assert.equal(checkItem({ tagPath: '[p]a', value: 1, timestamp: 1 }), null);
    assert.match(checkItem({ value: 1 })!, /tagPath/);
    assert.match(checkItem({ tagPath: 'x'.repeat(1_048_576) })!, /tagPath must NOT have more than/);
    assert.match(checkItem({ tagPath: 'a', quality: 'q'.repeat(5000) })!, /quality/);
    assert.match(checkItem({ tagPath: 'a', value: 'v'.repeat(1024 * 1024 + 1) })!, /value/);
    assert.equal(checkItem({ tagPath: 'a', value: 'v'.repeat(1024 * 1024) }), null);
    assert.match(checkItem(7)!, /must be object/);
  });

  it('counts the limits in characters (code points), at and just past each limit', () => {
    const emoji = '😀'; // two UTF-16 units, one character
    const limits: [string, number][] = [['tagPath', 1024], ['tagProvider', 256], ['quality', 256], ['sourceSystem', 256], ['alarmState', 256], ['dataType', 1024], ['timestamp', 1024]];
    for (const [field, max] of limits) {
      const item = (text: string) => ({ tagPath: 'a', [field]: text });
      assert.equal(checkItem(item('x'.repeat(max))), null, `${field} at ${max}`);
      assert.equal(checkItem(item(emoji.repeat(max))), null, `${field} at ${max} characters in ${2 * max} units`);
      assert.match(checkItem(item('x'.repeat(max + 1)))!, new RegExp(`${field} must NOT have more than ${max}`));
      assert.match(checkItem(item(emoji.repeat(max + 1)))!, new RegExp(`${field} must NOT have more than ${max}`));
    }
    assert.equal(checkItem({ tagPath: 'a', value: emoji.repeat(1024 * 1024) }), null);
    assert.match(checkItem({ tagPath: '' })!, /tagPath must NOT have fewer than 1/);
    assert.match(checkItem({ tagPath: 5 })!, /tagPath must be string/);
    assert.match(checkItem([{ tagPath: 'a' }])!, /must be object/);
    assert.match(checkItem(null)!, /must be object/);
    // the limits bind strings only: numbers and other types pass to the normaliser
    assert.equal(checkItem({ tagPath: 'a', quality: 192, timestamp: 1e300, dataType: 8, tagProvider: null }), null);
  });

  it('bounds the depth and size of object values without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.match(checkValueSize(deep)!, /nested deeper/);
    const wide = Array.from({ length: 200_000 }, (_, i) => `item${i}`);
    assert.match(checkValueSize(wide)!, /larger than/);
    assert.equal(checkValueSize({ a: [1, 2, { b: 'c' }] }), null);
  });
});
