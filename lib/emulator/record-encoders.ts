import { createRowNormalizer, LineWriter, RowError, type ProtoRowReader, type Row, type TableSchema } from '../schema';

/**
 * Turn the records of one ingest request into stored rows (JSON lines as one Buffer), or throw
 * an Error naming the first record that does not fit: "record <i>: column '<c>': <why>".
 */

function recordError(index: number, err: unknown): Error {
  if (err instanceof RowError) return new Error(`record ${index}: ${err.message}`);
  return new Error(`record ${index}: ${(err as Error).message}`);
}

export type RecordsEncoder = (records: (string | Uint8Array)[]) => { data: Buffer; count: number };

export function jsonEncoder(schema: TableSchema): RecordsEncoder {
  const normalize = createRowNormalizer(schema);
  const writer = new LineWriter();
  return (records) => {
    writer.reset();
    for (let i = 0; i < records.length; i++) {
      const text = records[i] as string;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        writer.reset();
        throw new Error(`record ${i}: not valid JSON`);
      }
      let row: Row;
      try {
        row = normalize(parsed);
      } catch (err) {
        writer.reset();
        throw recordError(i, err);
      }
      // A row already in stored form is kept as sent (saves serialising it again).
      writer.line(row === parsed && text.indexOf('\n') < 0 ? text.trim() : JSON.stringify(row));
    }
    return writer.take();
  };
}

export function protoEncoder(reader: ProtoRowReader): RecordsEncoder {
  const name = reader.messageType.name;
  const writer = new LineWriter();
  return (records) => {
    writer.reset();
    for (let i = 0; i < records.length; i++) {
      try {
        reader.appendLine(records[i] as Uint8Array, writer);
      } catch (err) {
        writer.reset();
        if (err instanceof RowError) throw recordError(i, err);
        throw new Error(`record ${i}: not a valid ${name} message: ${(err as Error).message}`);
      }
    }
    return writer.take();
  };
}

