import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import * as descriptorExt from 'protobufjs/ext/descriptor';
import { checkDescriptor, createProtoRowReader, decodeDescriptorProto, descriptorForTable, parseCreateTables, type ProtoRowReader } from '../../../lib/schema';

const RICH = parseCreateTables(`CREATE TABLE plant.ot.readings (
  id STRING NOT NULL,
  ts TIMESTAMP NOT NULL,
  value DOUBLE,
  level TINYINT,
  big BIGINT,
  raw BINARY,
  meta VARIANT,
  price DECIMAL(6,2),
  tags ARRAY<STRING>,
  attrs MAP<STRING, INT>,
  loc STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE, site: STRUCT<name: STRING>>,
  points ARRAY<STRUCT<x: INT, y: INT>>
)`)[0];

const FLAT = parseCreateTables('CREATE TABLE c.s.flat (id STRING NOT NULL, n BIGINT, d DOUBLE, f FLOAT, b BOOLEAN, i INT, day DATE, raw BINARY)')[0];

function encodeDesc(desc: object): Buffer {
  return Buffer.from(descriptorExt.DescriptorProto.encode(descriptorExt.DescriptorProto.fromObject(desc)).finish());
}

function reader(table = RICH, bytes?: Uint8Array): ProtoRowReader {
  const r = createProtoRowReader(table, bytes ?? descriptorForTable(table).descriptorProto);
  if (!r.ok) assert.fail(r.reason);
  return r.reader;
}

function reason(table: typeof RICH, bytes: Uint8Array): string {
  const r = checkDescriptor(table, bytes);
  assert.equal(r.ok, false, 'expected the descriptor to be rejected');
  return (r as { reason: string }).reason;
}

describe('schema: protobuf descriptors of rows', () => {
  it('generates a DescriptorProto: optional fields, nested STRUCT messages, repeated, map entries', () => {
    const { descriptorProto, messageType } = descriptorForTable(RICH);
    const desc = decodeDescriptorProto(descriptorProto);
    assert.equal(desc.name, 'Readings');
    assert.equal(desc.field!.length, 12);
    assert.ok(desc.field!.every((f) => f.label === 1 || f.label === 3));
    const byName = Object.fromEntries(desc.field!.map((f) => [f.name, f]));
    assert.equal(byName.ts.type, 3); // int64
    assert.equal(byName.level.type, 5); // int32
    assert.equal(byName.meta.type, 9); // string
    assert.equal(byName.tags.label, 3);
    assert.equal(byName.loc.typeName, '.Readings.Loc');
    const nested = desc.nestedType!.map((n) => n.name);
    assert.ok(nested.includes('Loc') && nested.includes('Points') && nested.includes('AttrsEntry'));
    assert.equal(desc.nestedType!.find((n) => n.name === 'AttrsEntry')!.options?.mapEntry, true);
    assert.equal(messageType.fields.attrs instanceof protobuf.MapField, true);
    assert.equal(descriptorForTable(RICH, 'Custom').messageType.name, 'Custom');
  });

  it('refuses columns protobuf cannot carry', () => {
    assert.throws(() => descriptorForTable(parseCreateTables('CREATE TABLE a.b.c (g ARRAY<ARRAY<INT>>)')[0]), /no protobuf mapping/);
    assert.throws(() => descriptorForTable(parseCreateTables('CREATE TABLE a.b.c (m MAP<DOUBLE, INT>)')[0]), /map keys/);
    assert.throws(() => descriptorForTable(parseCreateTables('CREATE TABLE a.b.c (`a b` INT)')[0]), /protobuf field name/);
  });

  it('decodes records of the generated descriptor into stored rows (int64 text beyond 2^53, base64, VARIANT text, NULLs absent)', () => {
    const r = reader();
    const bytes = r.messageType
      .encode(
        r.messageType.fromObject({
          id: 'a',
          ts: 1_700_000_000_000_000,
          big: '9007199254740993',
          raw: Buffer.from([1, 2, 3]),
          meta: '{"k":[1,2]}',
          price: '1234.50',
          tags: ['x', 'y'],
          attrs: { a: 1, b: 2 },
          loc: { lat: 1.5, site: { name: 'P1' } },
          points: [{ x: 1, y: 2 }, { x: 3 }],
        }),
      )
      .finish();
    const expected = {
      id: 'a',
      ts: 1_700_000_000_000_000,
      big: '9007199254740993',
      raw: 'AQID',
      meta: '{"k":[1,2]}',
      price: '1234.50',
      tags: ['x', 'y'],
      attrs: { a: 1, b: 2 },
      loc: { lat: 1.5, site: { name: 'P1' } },
      points: [{ x: 1, y: 2 }, { x: 3 }],
    };
    assert.deepEqual(r.decodeRow(bytes), expected);
    assert.deepEqual(JSON.parse(r.decodeLine(bytes)), expected);
  });

  it('rejects records that do not fit: NOT NULL missing (also inside structs), ranges, VARIANT and DECIMAL text', () => {
    const r = reader();
    const enc = (o: object) => r.messageType.encode(r.messageType.fromObject(o)).finish();
    const base = { id: 'a', ts: 1 };
    assert.throws(() => r.decodeRow(enc({ id: 'a' })), /column 'ts': NOT NULL/);
    assert.throws(() => r.decodeRow(enc({ ...base, loc: { lon: 2 } })), /column 'loc\.lat': NOT NULL/);
    assert.throws(() => r.decodeRow(enc({ ...base, level: 300 })), /300 is out of the TINYINT range/);
    assert.throws(() => r.decodeRow(enc({ ...base, meta: '{not json' })), /VARIANT must hold JSON/);
    assert.throws(() => r.decodeRow(enc({ ...base, price: '12345.6' })), /does not fit DECIMAL\(6,2\)/);
    assert.throws(() => r.decodeRow(enc({ ...base, price: '1.234' })), /more than 2 digits/);
  });

  it('checks the wire format strictly: unknown field numbers, wrong wire types, truncation, bad UTF-8', () => {
    for (const r of [reader(), reader(FLAT)]) {
      const good = r.messageType.encode(r.messageType.fromObject({ id: 'abc', ts: 5 })).finish();
      assert.throws(() => r.decodeLine(Buffer.concat([good, Buffer.from([0xf8, 0x07, 0x01])])), /unknown field number 127/);
      assert.throws(() => r.decodeLine(Buffer.from([0x08, 0x01])), /field id has wire type 0, expected 2/);
      assert.throws(() => r.decodeLine(Buffer.from([0x0a, 0x05, 0x61])), /length beyond the end/);
      assert.throws(() => r.decodeLine(Buffer.from([0x0a, 0x02, 0xc3, 0x28])), /not valid UTF-8/);
      assert.throws(() => r.decodeLine(Buffer.from([0x0a])), /truncated|length beyond/);
    }
  });

  it('fast flat decoding and the general decoder give the same rows', () => {
    const r = reader(FLAT);
    const cases = [
      { id: 'x', n: 0, d: 0, f: 0, b: false, i: 0, day: 0 },
      { id: 'ünïcødé "quoted" \\ \n tab\t', n: -1, d: -1.25, f: 0.1, b: true, i: -2147483648, day: 19000, raw: Buffer.from('hi') },
      { id: 'big', n: '9223372036854775807', i: 2147483647 },
      { id: 'neg', n: '-9223372036854775808' },
      { id: 'n53', n: 9007199254740991, d: 1e300 },
    ];
    for (const c of cases) {
      const bytes = r.messageType.encode(r.messageType.fromObject(c)).finish();
      assert.deepEqual(JSON.parse(r.decodeLine(bytes)), r.decodeRow(bytes), JSON.stringify(c));
    }
    // a field given twice: last one wins, as in protobuf
    const twice = Buffer.concat([
      r.messageType.encode({ id: 'first' }).finish(),
      r.messageType.encode({ id: 'second' }).finish(),
    ]);
    assert.deepEqual(JSON.parse(r.decodeLine(twice)), { id: 'second' });
  });

  it('accepts protoc-style descriptors: package-qualified type names, required labels, proto3 without optional', () => {
    const desc = {
      name: 'Reading',
      field: [
        { name: 'id', number: 1, label: 2, type: 9 },
        { name: 'ts', number: 2, label: 1, type: 18 /* sint64 */ },
        { name: 'loc', number: 3, label: 1, type: 11, typeName: '.acme.plant.Reading.Location' },
        { name: 'points', number: 4, label: 3, type: 11, typeName: '.acme.plant.Reading.Point' },
        { name: 'attrs', number: 5, label: 3, type: 11, typeName: '.acme.plant.Reading.AttrsEntry' },
      ],
      nestedType: [
        {
          name: 'Location',
          field: [
            { name: 'lat', number: 1, label: 1, type: 1 },
            { name: 'site', number: 2, label: 1, type: 11, typeName: '.acme.plant.Reading.Location.Site' },
          ],
          nestedType: [{ name: 'Site', field: [{ name: 'name', number: 1, label: 1, type: 9 }] }],
        },
        { name: 'Point', field: [{ name: 'x', number: 1, label: 1, type: 17 }, { name: 'y', number: 2, label: 1, type: 5 }] },
        { name: 'AttrsEntry', field: [{ name: 'key', number: 1, label: 1, type: 9 }, { name: 'value', number: 2, label: 1, type: 5 }], options: { mapEntry: true } },
      ],
    };
    const r = reader(RICH, encodeDesc(desc));
    const bytes = r.messageType.encode(r.messageType.fromObject({ id: 'p', ts: -5, loc: { lat: 2, site: { name: 'S' } }, points: [{ x: -1, y: 2 }], attrs: { k: 7 } })).finish();
    assert.deepEqual(r.decodeRow(bytes), { id: 'p', ts: -5, loc: { lat: 2, site: { name: 'S' } }, points: [{ x: -1, y: 2 }], attrs: { k: 7 } });
  });

  it('accepts protobufjs descriptors with relative type names (Type#toDescriptor)', () => {
    const root = protobuf.parse(`syntax = "proto3"; package acme;
      message Reading { string id = 1; int64 ts = 2; optional double value = 3; Location loc = 4; repeated string tags = 5; map<string, int32> attrs = 6;
        message Location { double lat = 1; double lon = 2; } }`).root;
    const type = root.lookupType('acme.Reading') as protobuf.Type & { toDescriptor(syntax: string): protobuf.Message };
    const bytes = descriptorExt.DescriptorProto.encode(type.toDescriptor('proto3')).finish();
    assert.equal(decodeDescriptorProto(bytes).field!.find((f) => f.name === 'loc')!.typeName, 'Location');
    const r = reader(RICH, bytes);
    const rec = r.messageType.encode(r.messageType.fromObject({ id: 'z', ts: 9, value: 0, loc: { lat: 1 }, tags: [], attrs: {} })).finish();
    // proto3 without optional drops zero values: lon absent; explicit optional keeps value 0; empty collections are NULL
    assert.deepEqual(r.decodeRow(rec), { id: 'z', ts: 9, value: 0, loc: { lat: 1 } });
  });

  it('rejects incompatible descriptors with a reason naming the field', () => {
    const field = (name: string, number: number, type: number, extra: object = {}) => ({ name, number, label: 1, type, ...extra });
    const base = [field('id', 1, 9), field('ts', 2, 3)];
    const cases: [object, RegExp][] = [
      [{ name: 'R', field: [field('id', 1, 5), field('ts', 2, 3)] }, /field id \(int32\) is not compatible with column type STRING/],
      [{ name: 'R', field: [...base, field('value', 3, 9)] }, /field value \(string\) is not compatible with column type DOUBLE/],
      [{ name: 'R', field: [...base, field('unknown_col', 3, 9)] }, /field unknown_col has no column/],
      [{ name: 'R', field: [field('id', 1, 9)] }, /no field for NOT NULL column ts/],
      [{ name: 'R', field: [...base, { name: 'tags', number: 3, label: 1, type: 9 }] }, /field tags \(string\) is not compatible with column type ARRAY<STRING>/],
      [{ name: 'R', field: [...base, { name: 'value', number: 3, label: 3, type: 1 }] }, /field value \(repeated double\) is not compatible/],
      [{ name: 'R', field: [...base, field('loc', 3, 11, { typeName: '.google.protobuf.Struct' })] }, /not nested in the record message/],
      [{ name: 'R', field: [...base, field('level', 3, 14, { typeName: '.R.Level' })], enumType: [{ name: 'Level', value: [{ name: 'A', number: 0 }] }] }, /enum/],
      [{ name: 'R', field: [...base, field('f', 3, 2)] }, /field f has no column/],
      [{ name: 'R', field: [...base, field('value', 3, 2)] }, /ok/],
    ];
    for (const [desc, pattern] of cases) {
      if (String(pattern) === '/ok/') {
        assert.equal(checkDescriptor(RICH, encodeDesc(desc)).ok, true, 'a FLOAT field may feed a DOUBLE column');
        continue;
      }
      assert.match(reason(RICH, encodeDesc(desc)), pattern);
    }
    assert.match(reason(RICH, Buffer.from([0xff, 0xff])), /not a DescriptorProto/);
  });
});
