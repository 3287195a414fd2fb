import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { status as Status } from '@grpc/grpc-js';
import { parseCreateTables, type TableSchema } from '../schema';
import { FaultState, type FaultControls } from './faults';
import { startGrpcServer, stopGrpcServer } from './grpc-server';
import { createHttpHandler } from './http-api';
import { quotaLimits, type QuotaLimits, type ThrottleFigures } from './quota';
import { RateMeter } from './rate';
import { StreamSession, type SessionContext } from './session';
import { Storage } from './storage';
import { TokenRegistry } from './tokens';

/**
 * A local stand-in for Zerobus Ingest (what Azurite is to Azure Storage): the gRPC
 * `EphemeralStream` service, the workspace's OAuth token endpoint, tables defined by
 * `CREATE TABLE` text, durable rows, fault injection, and a small HTTP API and web page.
 */

export interface EmulatorOptions {
  host?: string;
  grpcPort?: number;
  httpPort?: number;
  /** Rows are stored durably here; absent = in memory only. */
  dataDir?: string;
  /** CREATE TABLE statements (texts). */
  schemaSql?: string[];
  /** Paths of .sql files. */
  schemaFiles?: string[];
  /** When both are set, OAuth is enforced, and the HTTP API's writes need the secret (or adminToken). */
  clientId?: string;
  clientSecret?: string;
  /** Bearer token the HTTP API's writes need (tables, rows, faults); default the client secret. */
  adminToken?: string;
  /** Rotate each stream with a CloseStreamSignal after this long (default 15 min). */
  streamMaxAgeMs?: number;
  /** The duration announced in that signal (default 10 s). */
  closeSignalDurationMs?: number;
  /**
   * Per-stream quotas (quota.ts). Absent: Databricks' default quotas (100,000 records/s and
   * 100 MB/s per stream), acks slowed beyond them; a partial object overrides those; false: none.
   */
  quota?: Partial<QuotaLimits> | false;
  /** Newest rows kept in memory per table (default 1,000,000 in memory mode, 10,000 with dataDir). */
  maxRowsInMemory?: number;
  log?: (line: string) => void;
}

export interface EmulatorStats {
  streamsOpen: number;
  streamsTotal: number;
  rowsTotal: number;
  rowsPerSecond: number;
  rejectedTotal: number;
  tokensIssued: number;
  /** Over all streams so far: requests beyond the quota, and wall time acks were held back. */
  throttled: ThrottleFigures;
}

/** An open stream as the API and the page show it. */
export interface StreamFigures {
  streamId: string;
  table: string;
  openedAt: string;
  /** The CloseStreamSignal went out: the stream ends when its announced duration is over. */
  closing: boolean;
  recordsReceived: number;
  throttled: ThrottleFigures;
}

export interface Emulator {
  grpcPort: number;
  httpPort: number;
  /** 'http://127.0.0.1:<grpcPort>' — the value users put in zerobus-config.endpoint */
  endpoint: string;
  /** 'http://127.0.0.1:<httpPort>' — the token endpoint host */
  workspaceUrl: string;
  faults: FaultControls;
  tables(): { name: string; rowCount: number }[];
  /** Throttling by the quota so far, of one table's streams (closed ones included). */
  throttled(table: string): ThrottleFigures;
  /** The open streams, oldest first. */
  streams(): StreamFigures[];
  /** The quota in force, or null when there is none. */
  readonly quota: QuotaLimits | null;
  /** Each stream's lifetime before its CloseStreamSignal, as the service's ~15 min; 0: never. */
  readonly streamMaxAgeMs: number;
  /** Newest first. */
  rows(table: string, opts?: { limit?: number }): Record<string, unknown>[];
  /** Oldest first. */
  allRows(table: string): Record<string, unknown>[];
  addTable(sql: string): void;
  /** Empties one table (rows and file). */
  clearTable(table: string): Promise<void>;
  stats(): EmulatorStats;
  stop(): Promise<void>;
}

export const DEFAULT_GRPC_PORT = 50051;
export const DEFAULT_HTTP_PORT = 50052;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_STREAM_MAX_AGE_MS = 15 * 60_000;
export const DEFAULT_CLOSE_SIGNAL_MS = 10_000;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Tables remembered in the data dir, then the given schemas (which win and are saved). */
function loadTables(storage: Storage, opts: EmulatorOptions): void {
  if (opts.dataDir) fs.mkdirSync(opts.dataDir, { recursive: true });
  storage.loadPersisted();
  const given: TableSchema[] = [];
  for (const sql of opts.schemaSql ?? []) given.push(...parseCreateTables(sql));
  for (const file of opts.schemaFiles ?? []) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read schema file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      given.push(...parseCreateTables(text));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
  for (const table of given) storage.define(table);
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? DEFAULT_HOST;
  const log = opts.log ?? (() => undefined);
  const rate = new RateMeter();
  let rowsTotal = 0;
  const storage = new Storage({
    dataDir: opts.dataDir,
    maxRowsInMemory: opts.maxRowsInMemory,
    onStored: (n) => {
      rowsTotal += n;
      rate.add(n);
    },
  });

  try {
    loadTables(storage, opts);
  } catch (err) {
    await storage.close();
    throw err;
  }
  rowsTotal = 0;
  for (const t of storage.tables.values()) rowsTotal += t.rowCount;

  const tokens = new TokenRegistry();
  const sessions = new Set<StreamSession>();
  const counters = { streamsTotal: 0, rejectedTotal: 0 };
  const quota = opts.quota === false ? null : quotaLimits(opts.quota ?? {});
  const throttledTotal: ThrottleFigures = { count: 0, ms: 0 };
  const tableThrottles = new Map<string, ThrottleFigures>();
  const tableThrottle = (table: string): ThrottleFigures => {
    let figures = tableThrottles.get(table);
    if (!figures) tableThrottles.set(table, (figures = { count: 0, ms: 0 }));
    return figures;
  };
  const faults: FaultState = new FaultState({
    closeSignalToAll: (ms) => {
      for (const s of [...sessions]) s.closeSignal(ms);
    },
    acksResumed: () => {
      for (const s of [...sessions]) s.acksResumed();
    },
    expireTokens: () => tokens.expireAll(),
  });

  const ctx: SessionContext = {
    storage,
    tokens,
    faults,
    oauthEnforced: opts.clientId !== undefined && opts.clientSecret !== undefined,
    streamMaxAgeMs: opts.streamMaxAgeMs ?? DEFAULT_STREAM_MAX_AGE_MS,
    closeSignalDurationMs: opts.closeSignalDurationMs ?? DEFAULT_CLOSE_SIGNAL_MS,
    quota,
    // A stream's throttles count for its table and for the emulator's total.
    throttleTotals: (table) => [tableThrottle(table), throttledTotal],
    sessions,
    counters,
    dropAllStreams: () => {
      for (const s of [...sessions]) s.drainThenEnd({ code: Status.UNAVAILABLE, message: 'connection dropped (emulator fault)' });
    },
    log,
  };

  const addTable = (sql: string): string[] => {
    const tables = parseCreateTables(sql);
    if (tables.length === 0) throw new Error('no CREATE TABLE statement found');
    for (const t of tables) storage.define(t);
    return tables.map((t) => t.name);
  };

  const stats = (): EmulatorStats => ({
    streamsOpen: [...sessions].filter((s) => s.isOpen).length,
    streamsTotal: counters.streamsTotal,
    rowsTotal,
    rowsPerSecond: Math.round(rate.perSecond()),
    rejectedTotal: counters.rejectedTotal,
    tokensIssued: tokens.issuedTotal,
    throttled: { ...throttledTotal },
  });

  const streams = (): StreamFigures[] =>
    [...sessions]
      .filter((s) => s.isOpen)
      .map((s) => ({
        streamId: s.streamId!,
        table: s.tableName!,
        openedAt: new Date(s.openedAt!).toISOString(),
        closing: s.closeSignalAt !== undefined,
        recordsReceived: s.recordsReceived,
        throttled: { ...(s.quota?.throttled ?? { count: 0, ms: 0 }) },
      }));

  const tableList = () => [...storage.tables.values()].map((t) => ({ name: t.schema.name, rowCount: t.rowCount }));

  let started: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    started = await startGrpcServer(host, opts.grpcPort ?? DEFAULT_GRPC_PORT, (call) => {
      new StreamSession(call, ctx);
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const { server: grpcServer, port: grpcPort } = started;

  const endpoint = `http://${urlHost(host)}:${grpcPort}`;
  const httpServer: http.Server = http.createServer(
    createHttpHandler({
      token: { registry: tokens, clientId: opts.clientId, clientSecret: opts.clientSecret, forcedStatus: () => faults.tokenStatus },
      faults,
      tables: () => [...storage.tables.values()].map((t) => ({ schema: t.schema, rowCount: t.rowCount })),
      rows: (name, limit) => storage.get(name)?.rows(limit),
      clearRows: async (name) => {
        const t = storage.get(name);
        if (!t) return false;
        await t.clear();
        return true;
      },
      addTable,
      stats: () => ({
        ...stats(),
        history: rate.history(60),
        streams: streams(),
        tables: tableList().map((t) => ({ ...t, throttled: { ...tableThrottle(t.name) } })),
        quota,
        streamMaxAgeMs: ctx.streamMaxAgeMs,
        closeSignalMs: ctx.closeSignalDurationMs,
      }),
      // the data folder is not shown: a path on this machine is nobody's business over HTTP
      info: (): Record<string, unknown> => ({ endpoint, workspaceUrl, oauth: ctx.oauthEnforced, durable: !!opts.dataDir }),
      writeToken: opts.adminToken ?? opts.clientSecret,
      loopbackOnly: isLoopbackHost(host),
    }),
  );
  httpServer.on('clientError', (_err, socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(opts.httpPort ?? DEFAULT_HTTP_PORT, host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await stopGrpcServer(grpcServer, 0);
    await storage.close();
    throw err;
  }
  const httpPort: number = (httpServer.address() as AddressInfo).port;
  const workspaceUrl: string = `http://${urlHost(host)}:${httpPort}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const s of [...sessions]) s.drainThenEnd({ code: Status.UNAVAILABLE, message: 'the emulator is shutting down' });
      await Promise.all([
        stopGrpcServer(grpcServer, 1000),
        new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        }),
      ]);
      await storage.close();
    })();
    return stopping;
  };

  const requireTable = (name: string) => {
    const t = storage.get(name);
    if (!t) throw new Error(`table not found: ${name}`);
    return t;
  };

  return {
    grpcPort,
    httpPort,
    endpoint,
    workspaceUrl,
    faults,
    tables: tableList,
    throttled: (table) => ({ ...(tableThrottles.get(table.toLowerCase()) ?? { count: 0, ms: 0 }) }),
    streams,
    quota,
    streamMaxAgeMs: ctx.streamMaxAgeMs,
    rows: (table, o) => requireTable(table).rows(Math.max(0, o?.limit ?? 50)),
    allRows: (table) => requireTable(table).allRows(),
    addTable: (sql) => void addTable(sql),
    clearTable: (table) => requireTable(table).clear(),
    stats,
    stop,
  };
}
