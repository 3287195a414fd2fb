import * as os from 'os';
import * as path from 'path';
import type { NodeDef } from 'node-red';
import { numberProperty } from '../common/number-property';
import { MAX_STREAMS, SINK_DEFAULTS, type SinkFormat, type SinkRecordType, type ZerobusSinkOptions } from '../../lib/sink';
import { parseCreateTables } from '../../lib/schema';

/** The zerobus-out node's properties as saved in the flow (numbers may be strings or ${ENV}). */
export interface ZerobusOutDef extends NodeDef {
  connection?: string;
  table?: string;
  format?: string;
  recordType?: string;
  sourceSystem?: string;
  spool?: string;
  spoolDir?: string;
  maxInflight?: string | number;
  batchBytes?: string | number;
  retryBackoffMax?: string | number;
  spoolMaxMB?: string | number;
  overflow?: string;
  schema?: string;
  statsInterval?: string | number;
  failedRetryInterval?: string | number;
  /** "1".."16" or "auto" */
  streams?: string | number;
  maxStreams?: string | number;
  partitionColumn?: string;
}

/** Settings from settings.js this node reads (all optional). */
export interface ZerobusOutRuntimeSettings {
  userDir?: string;
  /** base folder of the per-node spool folders (default <userDir>/zerobus-spool) */
  zerobusOutSpoolDir?: string;
  /** how long close/redeploy waits for acknowledgements before leaving the rest spooled (ms, default 5000) */
  zerobusOutCloseTimeout?: number;
}

export const OUT_DEFAULTS = {
  table: 'main.ot.tag_events',
  maxInflight: SINK_DEFAULTS.maxInflightRecords,
  batchBytes: SINK_DEFAULTS.maxBatchBytes,
  retryBackoffMax: 30,
  spoolMaxMB: 1024,
  memorySpoolMaxMB: 64,
  statsInterval: 10,
  failedRetryInterval: 60,
  closeTimeoutMs: 5000,
  streams: SINK_DEFAULTS.streams,
  maxStreams: SINK_DEFAULTS.maxStreams,
};

export const TABLE_NAME_RE = /^[^.\s`]+\.[^.\s`]+\.[^.\s`]+$/;

export interface ResolvedOutSettings {
  table: string;
  statsIntervalMs: number;
  closeTimeoutMs: number;
  spoolDir?: string;
  /** table rows without a CREATE TABLE to build PROTO records from: sent as JSON records instead */
  rowsAsJson: boolean;
  /** properties whose value could not be used: the node warns and runs with the default */
  invalid: InvalidProperty[];
  sink: Omit<ZerobusSinkOptions, 'client' | 'clientFactory'>;
}

export interface InvalidProperty {
  property: string;
  value: string;
  /** what is used instead */
  fallback: string;
}

export function resolveOutSettings(def: ZerobusOutDef, runtime: ZerobusOutRuntimeSettings): ResolvedOutSettings {
  const table = (def.table ?? '').trim() || OUT_DEFAULTS.table;
  const format: SinkFormat = def.format === 'rows' ? 'rows' : 'ot-event';
  const schemaSql = def.schema?.trim() ? def.schema : undefined;
  // PROTO rows need the table's columns; without them a flow that set only format "rows" would
  // not start, so the rows go as JSON records, which Zerobus checks against the table itself.
  const rowsAsJson = format === 'rows' && def.recordType !== 'json' && !schemaSql;
  const recordType: SinkRecordType = def.recordType === 'json' || rowsAsJson ? 'json' : 'proto';
  const memory = def.spool === 'memory';
  const spoolMaxMB = numberProperty(def.spoolMaxMB, memory ? OUT_DEFAULTS.memorySpoolMaxMB : OUT_DEFAULTS.spoolMaxMB);
  const spoolDir = memory ? undefined : spoolDirFor(def, runtime);
  const invalid: InvalidProperty[] = [];
  const streams = streamsProperty(def.streams, invalid);
  // the ceiling matters (and is checked) only when the node picks its stream count itself
  const maxStreams = streams === 'auto' ? streamCountProperty('maxStreams', def.maxStreams, OUT_DEFAULTS.maxStreams, invalid) : OUT_DEFAULTS.maxStreams;
  const partitionColumn = format === 'rows' ? partitionColumnProperty(def.partitionColumn, schemaSql, invalid) : '';
  return {
    table,
    statsIntervalMs: Math.max(0, numberProperty(def.statsInterval, OUT_DEFAULTS.statsInterval)) * 1000,
    closeTimeoutMs: Math.max(0, numberProperty(runtime.zerobusOutCloseTimeout, OUT_DEFAULTS.closeTimeoutMs)),
    spoolDir,
    rowsAsJson,
    invalid,
    sink: {
      table,
      format,
      recordType,
      sourceSystem: (def.sourceSystem ?? '').trim() || os.hostname(),
      schemaSql,
      spool: {
        dir: spoolDir,
        maxBytes: Math.max(1, Math.round(spoolMaxMB * 1024 * 1024)),
        overflow: def.overflow === 'drop-oldest' ? 'drop-oldest' : 'block',
      },
      maxInflightRecords: Math.max(1, Math.round(numberProperty(def.maxInflight, OUT_DEFAULTS.maxInflight))),
      maxBatchBytes: Math.max(1024, Math.round(numberProperty(def.batchBytes, OUT_DEFAULTS.batchBytes))),
      backoff: { maxMs: Math.max(0.1, numberProperty(def.retryBackoffMax, OUT_DEFAULTS.retryBackoffMax)) * 1000 },
      failedRetryMs: Math.max(0.01, numberProperty(def.failedRetryInterval, OUT_DEFAULTS.failedRetryInterval)) * 1000,
      streams,
      maxStreams,
      partitionColumn,
    },
  };
}

/** `streams`: a whole number from 1 to MAX_STREAMS, or "auto" (any case); blank is the default. */
function streamsProperty(raw: unknown, invalid: InvalidProperty[]): number | 'auto' {
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto') return 'auto';
  return streamCountProperty('streams', raw, OUT_DEFAULTS.streams, invalid);
}

/** A stream count: a whole number from 1 to MAX_STREAMS, else the fallback (noted in `invalid`). */
function streamCountProperty(property: string, raw: unknown, fallback: number, invalid: InvalidProperty[]): number {
  const n = numberProperty(raw, NaN, { min: 1 });
  if (Number.isInteger(n) && n <= MAX_STREAMS) return n;
  const blank = raw === undefined || raw === null || String(raw).trim() === '';
  if (!blank) invalid.push({ property, value: String(raw), fallback: String(fallback) });
  return fallback;
}

/**
 * `partitionColumn` (format rows): a column of the table when the schema is known, spelt as the
 * schema spells it (rows carry that key). A name the schema lacks would put every row in one
 * stream, so it falls back to round robin.
 */
function partitionColumnProperty(raw: string | undefined, schemaSql: string | undefined, invalid: InvalidProperty[]): string {
  const column = (raw ?? '').trim();
  if (!column || !schemaSql) return column;
  let columns: string[];
  try {
    columns = parseCreateTables(schemaSql).flatMap((t) => t.columns.map((c) => c.name));
  } catch {
    return column; // a schema that does not parse is reported by the sink itself
  }
  const found = columns.find((c) => c === column) ?? columns.find((c) => c.toLowerCase() === column.toLowerCase());
  if (found !== undefined) return found;
  invalid.push({ property: 'partitionColumn', value: column, fallback: '' });
  return '';
}

/**
 * A folder per node: `spoolDir` when set (relative to the user dir), else under the
 * `zerobusOutSpoolDir` setting, else `<userDir>/zerobus-spool`, else (no user dir, as under the
 * test helper) the system temp folder. The node id keeps two nodes from sharing a log.
 */
export function spoolDirFor(def: Pick<ZerobusOutDef, 'id' | 'spoolDir'>, runtime: ZerobusOutRuntimeSettings): string {
  const configured = (def.spoolDir ?? '').trim();
  if (configured) return path.resolve(runtime.userDir ?? process.cwd(), configured);
  return path.join(spoolRootFor(runtime), safeFileName(def.id));
}

/** The folder holding the per-node spool folders (and, beside them, the Ignition duplicate windows). */
export function spoolRootFor(runtime: ZerobusOutRuntimeSettings): string {
  const base = runtime.userDir ?? process.cwd();
  if (runtime.zerobusOutSpoolDir) return path.resolve(base, runtime.zerobusOutSpoolDir);
  return runtime.userDir ? path.join(runtime.userDir, 'zerobus-spool') : path.join(os.tmpdir(), 'node-red-zerobus-spool');
}

/** A node id as a file name. */
export function safeFileName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}
