import { SchemaParseError, type ColumnSchema, type DeltaType, type TableSchema } from './types';

/**
 * A parser for the Databricks SQL users already write: `CREATE [OR REPLACE] TABLE [IF NOT EXISTS]`
 * with column types, NOT NULL, COMMENT, DEFAULT, GENERATED columns, table constraints and the
 * table clauses after the column list (USING, PARTITIONED BY, CLUSTER BY, TBLPROPERTIES, ...).
 * `USE CATALOG x` / `USE SCHEMA x` qualify later short table names; other statements (GRANT,
 * CREATE SCHEMA, ...) are skipped, so a whole setup script can be loaded as it is.
 */

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'punct';
  text: string;
  line: number;
  column: number;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (reason: string, at: number): never => {
    throw new SchemaParseError(reason, line, at - lineStart + 1);
  };
  const advanceLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      if (sql.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
  };
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '\n') {
      line++;
      lineStart = ++i;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated /* comment', i);
      advanceLines(i, end + 2);
      i = end + 2;
      continue;
    }
    const startLine = line;
    const startColumn = i - lineStart + 1;
    const push = (kind: Token['kind'], text: string): void => {
      tokens.push({ kind, text, line: startLine, column: startColumn });
    };
    if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++;
      push('word', sql.slice(i, j));
      i = j;
      continue;
    }
    if (/[0-9]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[0-9.eE]/.test(sql[j])) j++;
      push('number', sql.slice(i, j));
      i = j;
      continue;
    }
    if (ch === '`') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) fail('unterminated `quoted identifier`', i);
        if (sql[j] === '`') {
          if (sql[j + 1] === '`') {
            text += '`';
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j++];
      }
      advanceLines(i, j);
      push('quoted', text);
      i = j + 1;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) fail('unterminated string literal', i);
        const c = sql[j];
        if (c === '\\' && j + 1 < sql.length) {
          const next = sql[j + 1];
          text += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          j += 2;
          continue;
        }
        if (c === ch) {
          if (sql[j + 1] === ch) {
            text += ch;
            j += 2;
            continue;
          }
          break;
        }
        text += c;
        j++;
      }
      advanceLines(i, j);
      push('string', text);
      i = j + 1;
      continue;
    }
    if ('(),<>:.;=[]{}+-*/!|&%'.includes(ch)) {
      push('punct', ch);
      i++;
      continue;
    }
    fail(`unexpected character '${ch}'`, i);
  }
  return tokens;
}

const SIMPLE_TYPES: Record<string, DeltaType> = {
  STRING: { kind: 'string' },
  TINYINT: { kind: 'int8' },
  BYTE: { kind: 'int8' },
  SMALLINT: { kind: 'int16' },
  SHORT: { kind: 'int16' },
  INT: { kind: 'int32' },
  INTEGER: { kind: 'int32' },
  BIGINT: { kind: 'int64' },
  LONG: { kind: 'int64' },
  FLOAT: { kind: 'float' },
  REAL: { kind: 'float' },
  DOUBLE: { kind: 'double' },
  BOOLEAN: { kind: 'boolean' },
  BINARY: { kind: 'binary' },
  DATE: { kind: 'date' },
  TIMESTAMP: { kind: 'timestamp' },
  TIMESTAMP_LTZ: { kind: 'timestamp' },
  TIMESTAMP_NTZ: { kind: 'timestamp_ntz' },
  VARIANT: { kind: 'variant' },
};

class Parser {
  private pos = 0;
  private catalog?: string;
  private schema?: string;

  constructor(
    private readonly tokens: Token[],
    private readonly sql: string,
  ) {}

  parseAll(): TableSchema[] {
    const tables: TableSchema[] = [];
    while (this.pos < this.tokens.length) {
      if (this.eatPunct(';')) continue;
      if (this.isWord('CREATE') && this.looksLikeCreateTable()) tables.push(this.createTable());
      else if (this.isWord('USE')) this.useStatement();
      else this.skipStatement();
    }
    return tables;
  }

  private looksLikeCreateTable(): boolean {
    let k = this.pos + 1;
    const word = (): string => (this.tokens[k]?.kind === 'word' ? this.tokens[k].text.toUpperCase() : '');
    if (word() === 'OR') k += 2; // OR REPLACE
    if (word() === 'EXTERNAL' || word() === 'TEMPORARY') k++;
    return word() === 'TABLE';
  }

  private createTable(): TableSchema {
    this.expectWord('CREATE');
    if (this.eatWord('OR')) this.expectWord('REPLACE');
    if (this.isWord('EXTERNAL') || this.isWord('TEMPORARY')) this.fail(`${this.peek().text.toUpperCase()} tables cannot be Zerobus targets`);
    this.expectWord('TABLE');
    if (this.eatWord('IF')) {
      this.expectWord('NOT');
      this.expectWord('EXISTS');
    }
    const nameToken = this.peek();
    const name = this.qualify(this.qualifiedName(), nameToken);
    this.expectPunct('(');
    const columns = this.columnList(')');
    this.expectPunct(')');
    this.skipToStatementEnd();
    if (columns.length === 0) this.failAt(nameToken, `table ${name} has no columns`);
    return { name, columns };
  }

  private qualify(parts: string[], at: Token): string {
    let full = parts;
    if (parts.length === 1 && this.catalog && this.schema) full = [this.catalog, this.schema, parts[0]];
    else if (parts.length === 2 && this.catalog) full = [this.catalog, ...parts];
    if (full.length !== 3) {
      this.failAt(at, `table name ${parts.join('.')} must have three parts: catalog.schema.table`);
    }
    return full.join('.').toLowerCase();
  }

  private useStatement(): void {
    this.expectWord('USE');
    if (this.eatWord('CATALOG')) {
      this.catalog = this.identifier();
    } else {
      if (!this.eatWord('SCHEMA')) this.eatWord('DATABASE');
      const parts = this.qualifiedName();
      if (parts.length === 2) [this.catalog, this.schema] = parts;
      else this.schema = parts[parts.length - 1];
    }
    this.skipToStatementEnd();
  }

  /** Column definitions and table constraints up to the closing token (not consumed). */
  private columnList(close: ')' | '>'): ColumnSchema[] {
    const columns: ColumnSchema[] = [];
    const seen = new Set<string>();
    if (this.isPunct(close)) return columns;
    for (;;) {
      if (close === ')' && (this.isWord('CONSTRAINT') || this.isWord('PRIMARY') || this.isWord('FOREIGN'))) {
        this.skipUntilDepthZero([',', ')']);
      } else {
        const at = this.peek();
        const column = this.columnDefinition(close);
        const key = column.name.toLowerCase();
        if (seen.has(key)) this.failAt(at, `duplicate column ${column.name}`);
        seen.add(key);
        columns.push(column);
      }
      if (!this.eatPunct(',')) break;
    }
    return columns;
  }

  private columnDefinition(close: ')' | '>'): ColumnSchema {
    const name = this.identifier();
    if (close === '>') this.eatPunct(':');
    const type = this.dataType();
    const column: ColumnSchema = { name, type, nullable: true };
    for (;;) {
      if (this.eatWord('NOT')) {
        this.expectWord('NULL');
        column.nullable = false;
      } else if (this.eatWord('NULL')) {
        column.nullable = true;
      } else if (this.eatWord('COMMENT')) {
        column.comment = this.stringLiteral();
      } else if (close === ')' && (this.isWord('DEFAULT') || this.isWord('GENERATED') || this.isWord('MASK'))) {
        this.pos++;
        this.skipUntilDepthZero([',', ')', 'COMMENT', 'NOT', 'NULL']);
      } else if (close === ')' && this.eatWord('PRIMARY')) {
        this.expectWord('KEY');
        column.nullable = false;
      } else if (close === ')' && this.isWord('CONSTRAINT')) {
        this.skipUntilDepthZero([',', ')']);
      } else {
        break;
      }
    }
    return column;
  }

  private dataType(): DeltaType {
    const at = this.peek();
    if (at?.kind !== 'word') return this.fail('expected a data type');
    const word = at.text.toUpperCase();
    this.pos++;
    if (word === 'ARRAY') {
      this.expectPunct('<');
      const element = this.dataType();
      this.expectPunct('>');
      return { kind: 'array', element };
    }
    if (word === 'MAP') {
      this.expectPunct('<');
      const key = this.dataType();
      this.expectPunct(',');
      const value = this.dataType();
      this.expectPunct('>');
      return { kind: 'map', key, value };
    }
    if (word === 'STRUCT') {
      this.expectPunct('<');
      const fields = this.columnList('>');
      this.expectPunct('>');
      return { kind: 'struct', fields };
    }
    if (word === 'DECIMAL' || word === 'DEC' || word === 'NUMERIC') {
      let precision = 10;
      let scale = 0;
      if (this.eatPunct('(')) {
        precision = this.integer();
        if (this.eatPunct(',')) scale = this.integer();
        this.expectPunct(')');
      }
      if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
        this.failAt(at, `DECIMAL(${precision},${scale}) is out of range (precision 1-38, 0 <= scale <= precision)`);
      }
      return { kind: 'decimal', precision, scale };
    }
    if (word === 'VARCHAR' || word === 'CHAR') {
      this.expectPunct('(');
      this.integer();
      this.expectPunct(')');
      return { kind: 'string' };
    }
    if (word === 'TIMESTAMP' && this.isWord('WITH')) this.failAt(at, 'TIMESTAMP WITH TIME ZONE is not a Databricks type; use TIMESTAMP');
    const simple = SIMPLE_TYPES[word];
    if (!simple) return this.failAt(at, `unsupported data type ${at.text}`);
    return { ...simple } as DeltaType;
  }

  private qualifiedName(): string[] {
    const parts = [this.identifier()];
    while (this.eatPunct('.')) parts.push(this.identifier());
    return parts;
  }

  private identifier(): string {
    const t = this.peek();
    if (!t || (t.kind !== 'word' && t.kind !== 'quoted')) return this.fail('expected a name');
    if (t.kind === 'quoted' && t.text === '') this.failAt(t, 'empty `` name');
    this.pos++;
    return t.text;
  }

  private integer(): number {
    const t = this.peek();
    if (t?.kind !== 'number' || !/^\d+$/.test(t.text)) return this.fail('expected an integer');
    this.pos++;
    return Number(t.text);
  }

  private stringLiteral(): string {
    const t = this.peek();
    if (t?.kind !== 'string') return this.fail('expected a quoted string');
    this.pos++;
    return t.text;
  }

  /** Skips a balanced expression up to one of the stop tokens at nesting depth 0. */
  private skipUntilDepthZero(stops: string[]): void {
    let depth = 0;
    while (this.pos < this.tokens.length) {
      const t = this.tokens[this.pos];
      const text = t.kind === 'word' ? t.text.toUpperCase() : t.text;
      if (depth === 0 && (t.kind === 'punct' || t.kind === 'word') && stops.includes(text)) return;
      if (t.kind === 'punct' && t.text === '(') depth++;
      if (t.kind === 'punct' && t.text === ')') depth--;
      if (t.kind === 'punct' && t.text === ';' && depth <= 0) return;
      this.pos++;
    }
  }

  private skipToStatementEnd(): void {
    let depth = 0;
    while (this.pos < this.tokens.length) {
      const t = this.tokens[this.pos];
      if (t.kind === 'punct' && t.text === '(') depth++;
      else if (t.kind === 'punct' && t.text === ')') depth--;
      else if (t.kind === 'punct' && t.text === ';' && depth <= 0) {
        this.pos++;
        return;
      } else if (depth <= 0 && t.kind === 'word' && t.text.toUpperCase() === 'CREATE' && this.looksLikeStatementStart()) {
        return; // a missing semicolon between two statements
      }
      this.pos++;
    }
  }

  private looksLikeStatementStart(): boolean {
    const t = this.tokens[this.pos];
    const prev = this.tokens[this.pos - 1];
    return !!prev && t.line > prev.line && t.column <= 1 + prev.column;
  }

  private skipStatement(): void {
    this.pos++;
    this.skipToStatementEnd();
  }

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private isWord(word: string): boolean {
    const t = this.tokens[this.pos];
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }

  private isPunct(p: string): boolean {
    const t = this.tokens[this.pos];
    return t?.kind === 'punct' && t.text === p;
  }

  private eatWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.pos++;
    return true;
  }

  private eatPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.pos++;
    return true;
  }

  private expectWord(word: string): void {
    if (!this.eatWord(word)) this.fail(`expected ${word}`);
  }

  private expectPunct(p: string): void {
    if (!this.eatPunct(p)) this.fail(`expected '${p}'`);
  }

  private fail(reason: string): never {
    const t = this.tokens[this.pos];
    if (!t) {
      const lines = this.sql.split('\n');
      throw new SchemaParseError(`${reason}, found the end of the text`, lines.length, lines[lines.length - 1].length + 1);
    }
    return this.failAt(t, `${reason}, found '${t.text}'`);
  }

  private failAt(t: Token, reason: string): never {
    throw new SchemaParseError(reason, t.line, t.column);
  }
}

/** Every `CREATE TABLE` in the text, in order. Throws SchemaParseError with line and column. */
export function parseCreateTables(sql: string): TableSchema[] {
  return new Parser(tokenize(sql), sql).parseAll();
}
