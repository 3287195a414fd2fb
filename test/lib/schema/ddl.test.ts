import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../../../lib/paths';
import { formatCreateTable, formatType, parseCreateTables, SchemaParseError } from '../../../lib/schema';

function parseError(sql: string): SchemaParseError {
  try {
    parseCreateTables(sql);
  } catch (err) {
    assert.ok(err instanceof SchemaParseError, `expected SchemaParseError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a SchemaParseError');
}

describe('schema: CREATE TABLE parsing', () => {
  it('parses the shipped OT events table: types, NOT NULL, COMMENT, lower-cased name', () => {
    const [table] = parseCreateTables(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'), 'utf8'));
    assert.equal(table.name, 'main.ot.tag_events');
    assert.equal(table.columns.length, 14);
    assert.deepEqual(table.columns[0], {
      name: 'event_id',
      type: { kind: 'string' },
      nullable: false,
      comment: 'Deterministic UUID: the same event always gets the same id',
    });
    assert.deepEqual(table.columns[1].type, { kind: 'timestamp' });
    assert.deepEqual(table.columns[4], { name: 'numeric_value', type: { kind: 'double' }, nullable: true, comment: 'Numeric values' });
    assert.deepEqual(table.columns[10].type, { kind: 'int64' });
    assert.deepEqual(table.columns[13], { name: 'alarm_priority', type: { kind: 'int32' }, nullable: true });
  });

  it('parses every scalar type and its aliases', () => {
    const [t] = parseCreateTables(`create table c.s.t (
      a TINYINT, b BYTE, c SMALLINT, d SHORT, e INT, f INTEGER, g BIGINT, h LONG, i FLOAT, j REAL, k DOUBLE,
      l BOOLEAN, m BINARY, n DATE, o TIMESTAMP, p TIMESTAMP_NTZ, q VARIANT, r STRING, s VARCHAR(20), u CHAR(3),
      v DECIMAL(12, 3), w DECIMAL, x NUMERIC(5))`);
    const kinds = Object.fromEntries(t.columns.map((c) => [c.name, formatType(c.type)]));
    assert.deepEqual(kinds, {
      a: 'TINYINT', b: 'TINYINT', c: 'SMALLINT', d: 'SMALLINT', e: 'INT', f: 'INT', g: 'BIGINT', h: 'BIGINT',
      i: 'FLOAT', j: 'FLOAT', k: 'DOUBLE', l: 'BOOLEAN', m: 'BINARY', n: 'DATE', o: 'TIMESTAMP', p: 'TIMESTAMP_NTZ',
      q: 'VARIANT', r: 'STRING', s: 'STRING', u: 'STRING', v: 'DECIMAL(12,3)', w: 'DECIMAL(10,0)', x: 'DECIMAL(5,0)',
    });
  });

  it('parses nested ARRAY, MAP and STRUCT types with NOT NULL and COMMENT inside structs', () => {
    const [t] = parseCreateTables(
      "CREATE TABLE c.s.t (tags ARRAY<STRING>, attrs MAP<STRING, ARRAY<INT>>, loc STRUCT<lat: DOUBLE NOT NULL, `long name` DOUBLE COMMENT 'deg', inner STRUCT<x:INT>>, grid ARRAY<ARRAY<BIGINT>>)",
    );
    assert.deepEqual(t.columns[0].type, { kind: 'array', element: { kind: 'string' } });
    assert.deepEqual(t.columns[1].type, { kind: 'map', key: { kind: 'string' }, value: { kind: 'array', element: { kind: 'int32' } } });
    assert.deepEqual(t.columns[2].type, {
      kind: 'struct',
      fields: [
        { name: 'lat', type: { kind: 'double' }, nullable: false },
        { name: 'long name', type: { kind: 'double' }, nullable: true, comment: 'deg' },
        { name: 'inner', type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'int32' }, nullable: true }] }, nullable: true },
      ],
    });
    assert.equal(formatType(t.columns[3].type), 'ARRAY<ARRAY<BIGINT>>');
  });

  it('handles backticks, comments, several statements, USE CATALOG/SCHEMA and other statements', () => {
    const tables = parseCreateTables(`
      -- setup script
      USE CATALOG Main;
      /* a block
         comment */
      CREATE SCHEMA IF NOT EXISTS ot;
      USE SCHEMA ot;
      CREATE OR REPLACE TABLE \`Readings\` (\`value\` DOUBLE, \`we\`\`ird\` STRING) USING DELTA
        PARTITIONED BY (value) TBLPROPERTIES ('delta.appendOnly' = 'true');
      GRANT MODIFY ON TABLE main.ot.readings TO \`sp\`;
      create table if not exists other.s.t2 (
        id BIGINT GENERATED ALWAYS AS IDENTITY,
        d DATE DEFAULT current_date() NOT NULL,
        note STRING COMMENT 'it''s -- not a comment',
        CONSTRAINT pk PRIMARY KEY (id)
      ) CLUSTER BY (id) COMMENT 'table comment';
    `);
    assert.deepEqual(tables.map((t) => t.name), ['main.ot.readings', 'other.s.t2']);
    assert.deepEqual(tables[0].columns.map((c) => c.name), ['value', 'we`ird']);
    assert.deepEqual(tables[1].columns.map((c) => [c.name, c.nullable]), [['id', true], ['d', false], ['note', true]]);
    assert.equal(tables[1].columns[2].comment, "it's -- not a comment");
  });

  it('round-trips through formatCreateTable', () => {
    const sql = "CREATE TABLE a.b.c (x STRUCT<a: INT NOT NULL, `b c`: ARRAY<MAP<STRING, DECIMAL(5,2)>>> COMMENT 'it''s', y VARIANT NOT NULL)";
    const [t] = parseCreateTables(sql);
    assert.deepEqual(parseCreateTables(formatCreateTable(t)), [t]);
  });

  it('reports errors with line and column', () => {
    let e = parseError('CREATE TABLE a.b.c (\n  x INT,\n  y FOOBAR\n)');
    assert.equal(e.line, 3);
    assert.equal(e.column, 5);
    assert.match(e.message, /unsupported data type FOOBAR \(line 3, column 5\)/);

    e = parseError('CREATE TABLE just_a_name (x INT)');
    assert.match(e.message, /three parts/);
    assert.match(parseError('CREATE TABLE a.b.c (x INT, X STRING)').message, /duplicate column X/);
    assert.match(parseError('CREATE TABLE a.b.c (x ARRAY<INT)').message, /expected '>'/);
    assert.match(parseError('CREATE TABLE a.b.c (x DECIMAL(40, 2))').message, /out of range/);
    assert.match(parseError('CREATE TABLE a.b.c ()').message, /no columns/);
    assert.match(parseError("CREATE TABLE a.b.c (x INT COMMENT 'open").message, /unterminated string/);
    assert.match(parseError('CREATE TABLE a.b.c (x INT /* open').message, /unterminated \/\* comment/);
    assert.match(parseError('CREATE TABLE a.b.c (x INT').message, /found the end of the text/);
  });

  it('returns nothing for text without CREATE TABLE', () => {
    assert.deepEqual(parseCreateTables('-- nothing here\nSELECT 1;'), []);
  });
});
