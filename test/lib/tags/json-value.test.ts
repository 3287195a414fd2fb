import assert from 'node:assert/strict';
import { canonicalValueText, jsonText } from '../../../lib/tags';

describe('tag value texts', () => {
  const value = { b: [1.5, NaN, -Infinity, 9007199254740993n, 'x"y', true, null, undefined], a: { d: undefined, c: false }, 'é': 0 };

  it('stores JSON: own key order, non-finite numbers and undefined array members as null, undefined members left out', () => {
    assert.equal(jsonText(value), '{"b":[1.5,null,null,9007199254740993,"x\\"y",true,null,null],"a":{"c":false},"é":0}');
    assert.equal(jsonText(NaN), 'null');
  });

  it('hashes a canonical text: sorted keys, NaN and Infinity as words', () => {
    assert.equal(canonicalValueText(value), '{"a":{"c":false},"b":[1.5,NaN,-Infinity,9007199254740993,"x\\"y",true,null,null],"é":0}');
    assert.equal(canonicalValueText(NaN), 'NaN');
    assert.equal(canonicalValueText({ b: 1, a: 2 }), canonicalValueText({ a: 2, b: 1 }));
  });
});
