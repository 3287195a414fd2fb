import { createRowNormalizer, LineWriter, RowError, type ProtoRowReader, type Row, type TableSchema } from '../schema';
import { compileJsonLineWriter } from '../schema/json-fast';
import { RecordSpans } from './ingest-decoder';

/**
 * Turn the records of one ingest request into stored rows (JSON lines as one Buffer), or throw
 * an Error naming the first record that does not fit: "record <i>: column '<c>': <why>".
 * Records come as decoded values (protobufjs) or as spans of the request buffer (the fast
 * request reader); spans are validated in place where the fast paths apply.
 */

function recordError(index: number, err: unknown): Error {
  if (err instanceof RowError) return new Error(`record ${index}: ${err.message}`);
  return new Error(`record ${index}: ${(err as Error).message}`);
}

export type Records = (string | Uint8Array)[] | RecordSpans;
export type RecordsEncoder = (records: Records) => { data: Buffer; count: number; release?: () => void };

export function jsonEncoder(schema: TableSchema): RecordsEncoder {
  const normalize = createRowNormalizer(schema);
  const fast = compileJsonLineWriter(schema.columns);
  const writer = new LineWriter();
  /** The general path: JSON.parse, validate and normalise, keep the text when already in stored form. */
  const general = (text: string, i: number): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`record ${i}: not valid JSON`);
    }
    let row: Row;
    try {
      row = normalize(parsed);
    } catch (err) {
      throw recordError(i, err);
    }
    // A row already in stored form is kept as sent (saves serialising it again).
    writer.line(row === parsed && text.indexOf('\n') < 0 ? text.trim() : JSON.stringify(row));
  };
  return (records) => {
    writer.reset();
    try {
      if (records instanceof RecordSpans) {
        const { buf, starts, ends } = records;
        for (let i = 0; i < starts.length; i++) {
          if (!fast(buf, starts[i], ends[i], writer)) general(records.text(i), i);
        }
      } else {
        for (let i = 0; i < records.length; i++) general(records[i] as string, i);
      }
    } catch (err) {
      writer.reset();
      throw err;
    }
    return writer.take();
  };
}

export function protoEncoder(reader: ProtoRowReader): RecordsEncoder {
  const name = reader.messageType.name;
  const writer = new LineWriter();
  const fail = (i: number, err: unknown): Error => {
    writer.reset();
    if (err instanceof RowError) return recordError(i, err);
    return new Error(`record ${i}: not a valid ${name} message: ${(err as Error).message}`);
  };
  return (records) => {
    writer.reset();
    if (records instanceof RecordSpans) {
      const { buf, starts, ends } = records;
      for (let i = 0; i < starts.length; i++) {
        try {
          reader.appendSpan(buf, starts[i], ends[i], writer);
        } catch (err) {
          throw fail(i, err);
        }
      }
    } else {
      for (let i = 0; i < records.length; i++) {
        try {
          reader.appendLine(records[i] as Uint8Array, writer);
        } catch (err) {
          throw fail(i, err);
        }
      }
    }
    return writer.take();
  };
}
