/**
 * The shape of examples/tables/ot_events_silver.sql, the Lakeflow pipeline that makes the
 * bronze table one row per event_id: no Databricks runs here, so the file is read as
 * statements and checked against the bronze table's DDL (examples/tables/ot_events.sql) —
 * the silver table has bronze's columns and types, and the flow streams from bronze, keyed by
 * event_id and sequenced by a bronze column.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';
import { parseCreateTables, type TableSchema } from '../lib/schema';

const TABLES = path.join(PACKAGE_ROOT, 'examples', 'tables');
const BRONZE = 'main.ot.tag_events';

/** The text's statements without comments: `--` comments and `;` count only outside quotes. */
function statements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote = '';
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      current += c;
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
      current += c;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      current += '\n';
    } else if (c === ';') {
      out.push(current.trim());
      current = '';
    } else current += c;
  }
  assert.equal(quote, '', 'a quote is never closed');
  if (current.trim()) out.push(current.trim());
  return out.filter(Boolean).map((s) => s.replace(/\s+/g, ' '));
}

function balanced(statement: string): boolean {
  let depth = 0;
  for (const c of statement.replace(/'[^']*'/g, "''")) {
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

describe('the silver table pipeline (examples/tables/ot_events_silver.sql)', () => {
  let bronze: TableSchema;
  let parts: string[];

  before(() => {
    [bronze] = parseCreateTables(fs.readFileSync(path.join(TABLES, 'ot_events.sql'), 'utf8'));
    assert.equal(bronze.name, BRONZE);
    parts = statements(fs.readFileSync(path.join(TABLES, 'ot_events_silver.sql'), 'utf8'));
  });

  it('is two complete statements: the streaming table, then its flow', () => {
    assert.equal(parts.length, 2, parts.join('\n---\n'));
    for (const s of parts) assert.ok(balanced(s), `unbalanced parentheses in: ${s}`);
    assert.match(parts[0], /^CREATE OR REFRESH STREAMING TABLE \w+ \(/i);
    assert.match(parts[1], /^CREATE FLOW \w+ AS AUTO CDC INTO \w+ /i);
  });

  it('declares the silver table with exactly the bronze columns and types', () => {
    // the column list read by the package's own DDL parser, as if it were a plain table
    const asTable = parts[0]
      .replace(/^CREATE OR REFRESH STREAMING TABLE (\w+)/i, 'CREATE TABLE main.ot.$1')
      .replace(/\)\s*(COMMENT|CLUSTER BY|TBLPROPERTIES|PARTITIONED BY)\b.*$/i, ')');
    const [silver] = parseCreateTables(asTable);
    assert.ok(silver, `no table read from: ${asTable}`);
    assert.deepEqual(
      silver.columns.map((c) => [c.name, c.type, c.nullable]),
      bronze.columns.map((c) => [c.name, c.type, c.nullable]),
    );
  });

  it('streams from the bronze table into the silver one, one row per event_id', () => {
    const silverName = /^CREATE OR REFRESH STREAMING TABLE (\w+)/i.exec(parts[0])![1];
    const flow = /^CREATE FLOW \w+ AS AUTO CDC INTO (\w+) FROM STREAM\s*\(\s*([\w.]+)\s*\) KEYS \(([^)]*)\) SEQUENCE BY (\w+)\b(.*)$/i.exec(parts[1]);
    assert.ok(flow, `not an AUTO CDC flow from a stream: ${parts[1]}`);
    const [, target, source, keys, sequenceBy, rest] = flow;
    assert.equal(target, silverName);
    assert.equal(source.toLowerCase(), BRONZE);
    assert.deepEqual(keys.split(',').map((k) => k.trim()), ['event_id']);
    const columns = new Set(bronze.columns.map((c) => c.name));
    assert.ok(columns.has('event_id') && columns.has(sequenceBy), `${sequenceBy} is not a bronze column`);
    // SCD type 1 keeps one row per key (type 2 would keep every copy as history)
    assert.match(rest, /STORED AS SCD TYPE 1\s*$/i);
  });
});
