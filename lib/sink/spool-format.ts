import type { Spool } from '../spool';
import { decodeOtEventProto, encodeOtEventJson, encodeOtEventProto, type OtEventRow } from '../tags';
import { SinkConfigError } from './errors';
import type { SinkFormat, SinkRecordType } from './options';

/**
 * The spool outlives the node's configuration: a user may switch a node from PROTO to JSON
 * while records of the old kind still wait on disk. A small meta record beside the log says
 * which record type each range of sequence numbers holds, so that every record is sent in the
 * type the stream now speaks (OT events convert losslessly; custom rows cannot be converted).
 */
export interface SpoolFormatMeta {
  version: 1;
  format: SinkFormat;
  table: string;
  /** Record type of every seq from `fromSeq` up to the next run's start. */
  runs: { fromSeq: number; recordType: SinkRecordType }[];
}

/** Converts a spooled record to the configured record type (identity when nothing differs). */
export type RecordConverter = (seq: number, data: Buffer) => Buffer;

const identity: RecordConverter = (_seq, data) => data;

export interface SpoolFormatOptions {
  format: SinkFormat;
  recordType: SinkRecordType;
  table: string;
  /** for error messages */
  where: string;
}

/** Reconciles the spool's meta with the configuration; writes the updated meta. */
export async function prepareSpoolFormat(spool: Spool, opts: SpoolFormatOptions): Promise<RecordConverter> {
  const stats = spool.stats();
  const nextSeq = stats.lastSeq + 1;
  const fresh: SpoolFormatMeta = { version: 1, format: opts.format, table: opts.table, runs: [{ fromSeq: nextSeq, recordType: opts.recordType }] };
  const meta = readFormatMeta(spool.readMeta());
  if (stats.backlogRecords === 0 || !meta) {
    // Nothing waits (or a spool from before meta existed, which held the configured type).
    await spool.writeMeta({ ...fresh, runs: [{ fromSeq: meta ? nextSeq : 1, recordType: opts.recordType }] });
    return identity;
  }
  if (meta.format !== opts.format) {
    throw new SinkConfigError(
      `${opts.where} holds ${stats.backlogRecords} unsent records in format "${meta.format}", but the node now uses "${opts.format}". ` +
        `Switch the format back until the backlog is delivered, or move the spool folder away.`,
    );
  }
  const oldest = stats.ackedSeq + 1;
  const runs = meta.runs.filter((run, i) => i === meta.runs.length - 1 || meta.runs[i + 1].fromSeq > oldest);
  const foreign = runs.filter((run) => run.recordType !== opts.recordType);
  if (foreign.length > 0 && opts.format !== 'ot-event') {
    throw new SinkConfigError(
      `${opts.where} holds ${stats.backlogRecords} unsent ${foreign[0].recordType.toUpperCase()} rows, but the node now sends ` +
        `${opts.recordType.toUpperCase()}; custom rows cannot be converted. Switch the record type back until the backlog is delivered.`,
    );
  }
  if (runs[runs.length - 1].recordType !== opts.recordType) runs.push({ fromSeq: nextSeq, recordType: opts.recordType });
  await spool.writeMeta({ version: 1, format: opts.format, table: opts.table, runs });
  if (foreign.length === 0) return identity;
  return otEventConverter(runs, opts.recordType);
}

function otEventConverter(runs: SpoolFormatMeta['runs'], target: SinkRecordType): RecordConverter {
  return (seq, data) => {
    let type = runs[0].recordType;
    for (const run of runs) if (run.fromSeq <= seq) type = run.recordType;
    if (type === target) return data;
    if (target === 'json') return Buffer.from(encodeOtEventJson(decodeOtEventProto(data)), 'utf8');
    return encodeOtEventProto(JSON.parse(data.toString('utf8')) as OtEventRow);
  };
}

function readFormatMeta(meta: Record<string, unknown> | undefined): SpoolFormatMeta | undefined {
  if (!meta || meta.version !== 1 || !Array.isArray(meta.runs) || meta.runs.length === 0) return undefined;
  if (meta.format !== 'ot-event' && meta.format !== 'rows') return undefined;
  return meta as unknown as SpoolFormatMeta;
}
