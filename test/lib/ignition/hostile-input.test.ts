/**
 * Input-keyed lookups and header parsing of the Ignition receiver, as a hostile client drives
 * them: prototype member names as values, charsets and keys, and an Authorization header built
 * to make a backtracking regex quadratic.
 */
import assert from 'node:assert/strict';
import { bearerToken, checkContentType, createApiKeyCheck } from '../../../lib/ignition';
import { normaliseOrReason, parseTimestamp } from '../../../lib/tags';

const PROTO_WORDS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('ignition: hostile input', () => {
  it('keeps a Float tag whose value is a prototype member name as that text, never a function or {}', () => {
    for (const word of PROTO_WORDS) {
      const e = normaliseOrReason({ tagPath: '[default]T', value: word, dataType: 'Float8', quality: 'Good', timestamp: 1765456245123 });
      assert.equal(typeof e, 'object', `${word}: ${String(e)}`);
      assert.equal((e as { value: unknown }).value, word);
    }
    const prio = normaliseOrReason({ tagPath: '[default]T', value: 1, alarmPriority: 'constructor', timestamp: 1765456245123 });
    assert.equal(typeof prio, 'string', 'an alarm priority named constructor is refused');
  });

  it('does not find prototype members among time zones and months', () => {
    assert.equal(parseTimestamp('Thu Dec 11 12:30:45 CONSTRUCTOR 2025', NaN).ok, false);
    assert.equal(parseTimestamp('Thu Dec 11 12:30:45 __proto__ 2025', NaN).ok, false);
  });

  it('refuses charset=__proto__ and friends as unsupported charsets (415 text, no [object Object])', () => {
    for (const word of PROTO_WORDS) {
      const r = checkContentType(`application/json; charset=${word}`);
      assert.equal(r.ok, false, word);
      assert.match((r as { message: string }).message, new RegExp(`charset "${word.toLowerCase()}" is not supported`));
    }
  });

  it('parses the Authorization header in linear time', () => {
    const check = createApiKeyCheck('k')!;
    const hostile = `Bearer a${' '.repeat(20_000)}b`;
    const started = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) assert.equal(check(hostile), false);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms < 200, `10 checks of a 20 kB header took ${ms.toFixed(0)} ms`);
    assert.equal(bearerToken('  bearer\tk  '), 'k');
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearerk'), undefined);
    assert.equal(bearerToken('Bearer    '), undefined);
    assert.equal(bearerToken('Bearer a b'), 'a b');
  });
});
