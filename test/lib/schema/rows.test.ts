import assert from 'node:assert/strict';
import { createRowNormalizer, createRowValidator, parseCreateTables } from '../../../lib/schema';

const TABLE = parseCreateTables(`CREATE TABLE c.s.t (
  id STRING NOT NULL, Ts TIMESTAMP NOT NULL, n BIGINT, i INT, s SMALLINT, t TINYINT, d DOUBLE, f FLOAT, b BOOLEAN,
  raw BINARY, day DATE, v VARIANT, price DECIMAL(5,2), tags ARRAY<STRING>, m MAP<INT, DOUBLE>,
  loc STRUCT<lat: DOUBLE NOT NULL, name: STRING>
)`)[0];

const validate = createRowValidator(TABLE);
const normalize = createRowNormalizer(TABLE);
const base = { id: 'a', Ts: 1_700_000_000_000_000 };

describe('schema: JSON row validation', () => {
  it('accepts a row already in stored form and returns the same object', () => {
    const row = { ...base, n: 5, i: -3, d: 1.5, f: 2, b: true, raw: 'AQID', day: 19000, price: '12.50', tags: ['x'], m: { '1': 2.5 }, loc: { lat: 1 } };
    assert.equal(validate(row), null);
    assert.equal(normalize(row), row);
  });

  it('brings rows into stored form: NULLs out, int64 strings to numbers, VARIANT to JSON text, DECIMAL to text, case-insensitive names', () => {
    const out = normalize({ ID: 'a', ts: '1700000000000000', n: '9007199254740993', v: { k: [1] }, price: 3.5, d: null, loc: { lat: 2, name: null } });
    assert.deepEqual(out, { id: 'a', Ts: 1_700_000_000_000_000, n: '9007199254740993', v: '{"k":[1]}', price: '3.5', loc: { lat: 2 } });
    assert.deepEqual(normalize({ ...base, v: 'text' }), { ...base, v: '"text"' });
  });

  it('with acceptDates (the sending side), turns a Date or ISO text in TIMESTAMP and DATE columns into micros / days; without, refuses them as Zerobus does', () => {
    const lenient = createRowNormalizer(TABLE, { acceptDates: true });
    const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    assert.deepEqual(lenient({ ...base, Ts: when, day: '2024-01-02' }), { ...base, Ts: when.getTime() * 1000, day: 19724 });
    assert.deepEqual(lenient({ ...base, Ts: '2024-01-02T03:04:05.006007Z' }), { ...base, Ts: when.getTime() * 1000 + 7 });
    assert.equal(lenient(base), base, 'integers unchanged, same object');
    assert.throws(() => lenient({ ...base, Ts: 'tomorrow' }), /column 'Ts': expected TIMESTAMP, got string "tomorrow"/);
    assert.throws(() => lenient({ ...base, n: when }), /column 'n': expected BIGINT/, 'a BIGINT column is not a time');
    assert.throws(() => normalize({ ...base, Ts: when }), /column 'Ts': expected TIMESTAMP/);
    assert.throws(() => normalize({ ...base, day: '2024-01-02' }), /column 'day': expected DATE/);
  });

  it('names the column and the problem for rows that do not fit', () => {
    const cases: [object, RegExp][] = [
      [{ ...base, extra: 1 }, /^column 'extra': no such column in the table$/],
      [{ id: 'a' }, /^column 'Ts': NOT NULL column is missing or null$/],
      [{ ...base, id: null }, /column 'id': NOT NULL/],
      [{ ...base, i: 1.5 }, /column 'i': expected INT, got number 1.5/],
      [{ ...base, i: 2 ** 31 }, /column 'i': expected INT/],
      [{ ...base, s: 40000 }, /column 's': expected SMALLINT/],
      [{ ...base, t: -129 }, /column 't': expected TINYINT/],
      [{ ...base, n: '12abc' }, /column 'n': expected BIGINT, got string "12abc"/],
      [{ ...base, n: '99999999999999999999' }, /column 'n': expected BIGINT|out of the BIGINT range/],
      [{ ...base, Ts: '2024-01-01T00:00:00Z' }, /column 'Ts': expected TIMESTAMP/],
      [{ ...base, d: '1.5' }, /column 'd': expected DOUBLE, got string/],
      [{ ...base, b: 'true' }, /column 'b': expected BOOLEAN/],
      [{ ...base, raw: 'not base64!' }, /column 'raw': expected BINARY/],
      [{ ...base, day: '2024-01-01' }, /column 'day': expected DATE/],
      [{ ...base, price: '1234.5' }, /column 'price': 1234.5 does not fit DECIMAL\(5,2\)/],
      [{ ...base, tags: 'x' }, /column 'tags': expected ARRAY<STRING>/],
      [{ ...base, tags: ['x', 3] }, /column 'tags\[1\]': expected STRING/],
      [{ ...base, m: { x: 1 } }, /column 'm': map key "x" is not a INT/],
      [{ ...base, m: { '1': 'a' } }, /column 'm\["1"\]': expected DOUBLE/],
      [{ ...base, loc: { name: 'x' } }, /column 'loc\.lat': NOT NULL/],
      [{ ...base, loc: { lat: 1, alt: 3 } }, /column 'loc\.alt': no such column/],
      [{ ...base, loc: [1] }, /column 'loc': expected STRUCT/],
      [{ id: 'a', ID: 'b', Ts: 1 }, /column 'id': given twice/],
    ];
    for (const [row, pattern] of cases) assert.match(String(validate(row as Record<string, unknown>)), pattern, JSON.stringify(row));
  });

  it('rejects values that are not rows', () => {
    assert.throws(() => normalize([1, 2]), /a row must be a JSON object, got an array/);
    assert.throws(() => normalize('x'), /a row must be a JSON object/);
    assert.throws(() => normalize(null), /a row must be a JSON object, got null/);
  });

  it('keeps nulls inside arrays and maps', () => {
    assert.deepEqual(normalize({ ...base, tags: ['a', null], m: { '2': null } }), { ...base, tags: ['a', null], m: { '2': null } });
  });
});
