import type { IncomingMessage, ServerResponse } from 'http';
import { createApiKeyCheck, type ApiKeyCheck } from '../ignition/api-key';
import { formatType, type TableSchema } from '../schema';
import { FAULT_ACTIONS, type FaultControls } from './faults';
import { PAGE_ROWS, renderPage } from './page';
import { describeQuota, type QuotaLimits } from './quota';
import { handleTokenRequest, type TokenEndpointOptions } from './tokens';

/**
 * The emulator's HTTP port: the workspace side (OAuth token endpoint) and a small JSON API plus
 * the web page for people and tests:
 *   POST /oidc/v1/token                 OAuth M2M token (tokens.ts)
 *   GET  /api/tables                    [{name, rowCount, columns:[{name,type,nullable}]}]
 *   POST /api/tables                    body: {"sql": CREATE TABLE text} → adds/updates tables
 *   GET  /api/tables/{name}/rows?limit  newest first (default 50, max 10000)
 *   DELETE /api/tables/{name}/rows      empties a table
 *   GET  /api/stats                     totals, rows/s, open streams, rate history, quota throttling
 *   POST /api/faults                    {action, args} → a FaultControls method
 *   GET  /                              the web page
 *
 * Writes (POST /api/tables, DELETE …/rows, POST /api/faults) change what tests and people see,
 * so they are guarded: a JSON content type (a browser cannot send one cross-site without a CORS
 * preflight, which this server never grants), no foreign Origin, on a loopback listener a
 * loopback Host (DNS rebinding), and with an admin token (or, without one, the client secret)
 * configured, `Authorization: Bearer <it>`.
 */

export interface HttpApiDeps {
  token: TokenEndpointOptions;
  faults: FaultControls;
  tables(): { schema: TableSchema; rowCount: number }[];
  rows(table: string, limit: number): Record<string, unknown>[] | undefined;
  clearRows(table: string): Promise<boolean>;
  addTable(sql: string): string[];
  stats(): Record<string, unknown>;
  info(): Record<string, unknown>;
  /** what writes need as bearer token; undefined = writes open (an emulator without OAuth) */
  writeToken?: string;
  /** the listener is on a loopback address: Host must name loopback too */
  loopbackOnly?: boolean;
}

const DEFAULT_ROWS = 50;
const MAX_ROWS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new HttpError(413, 'request body too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function describeColumns(table: TableSchema) {
  return table.columns.map((c) => ({ name: c.name, type: formatType(c.type), nullable: c.nullable, ...(c.comment !== undefined ? { comment: c.comment } : {}) }));
}

async function applyFault(faults: FaultControls, body: string): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'body must be JSON {"action": "...", "args": [...]}');
  }
  const { action, args = [] } = (parsed ?? {}) as { action?: unknown; args?: unknown };
  if (typeof action !== 'string' || !(FAULT_ACTIONS as readonly string[]).includes(action)) {
    throw new HttpError(400, `action must be one of ${FAULT_ACTIONS.join(', ')}`);
  }
  if (!Array.isArray(args)) throw new HttpError(400, 'args must be an array');
  try {
    (faults[action as keyof FaultControls] as (...a: unknown[]) => void).apply(faults, args);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

function isLoopbackName(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function hostName(hostHeader: string): string {
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d+$/, '');
}

/** Throws unless a write may go on (see the header comment). */
function guardWrite(req: IncomingMessage, deps: HttpApiDeps, writeCheck: ApiKeyCheck | undefined, hasBody: boolean): void {
  const host = req.headers.host ?? '';
  if (deps.loopbackOnly && !isLoopbackName(hostName(host))) throw new HttpError(403, 'writes need a loopback Host header');
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      throw new HttpError(403, 'cross-site writes are refused');
    }
    if (originHost !== host) throw new HttpError(403, 'cross-site writes are refused');
  }
  if (hasBody && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'writes take Content-Type: application/json');
  }
  if (writeCheck && !writeCheck(req.headers.authorization)) {
    throw new HttpError(401, 'writes need "Authorization: Bearer <admin token or client secret>"');
  }
}

function tableSql(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'body must be JSON {"sql": "CREATE TABLE ..."}');
  }
  const sql = typeof parsed === 'string' ? parsed : (parsed as { sql?: unknown } | null)?.sql;
  if (typeof sql !== 'string') throw new HttpError(400, 'body must be JSON {"sql": "CREATE TABLE ..."}');
  return sql;
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpApiDeps, writeCheck: ApiKeyCheck | undefined): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const allow = (...methods: string[]): void => {
    if (!methods.includes(method)) {
      res.setHeader('allow', methods.join(', '));
      throw new HttpError(405, `${method} is not allowed on ${path}`);
    }
  };

  if (path === '/oidc/v1/token') {
    allow('POST');
    return handleTokenRequest(req, res, deps.token);
  }
  if (path === '/') {
    allow('GET', 'HEAD');
    const info = deps.info();
    const stats = deps.stats();
    const tables = deps.tables();
    const html = renderPage({
      endpoint: String(info.endpoint ?? ''),
      workspaceUrl: String(info.workspaceUrl ?? ''),
      mode: `${info.oauth ? 'OAuth checked' : 'any token accepted'} · ${info.durable ? 'rows on disk' : 'rows in memory'}`,
      tables,
      rows: tables.length ? (deps.rows(tables[0].schema.name, PAGE_ROWS) ?? []) : [],
      rowsPerSecond: Number(stats.rowsPerSecond ?? 0),
      rowsTotal: Number(stats.rowsTotal ?? 0),
      streamsOpen: Number(stats.streamsOpen ?? 0),
      rejectedTotal: Number(stats.rejectedTotal ?? 0),
      throttled: (stats.throttled as { count: number; ms: number } | undefined) ?? { count: 0, ms: 0 },
      quota: describeQuota(stats.quota as QuotaLimits | null | undefined),
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
    res.end(method === 'HEAD' ? undefined : html);
    return;
  }
  if (path === '/api/info') {
    allow('GET');
    return sendJson(res, 200, deps.info());
  }
  if (path === '/api/stats') {
    allow('GET');
    return sendJson(res, 200, deps.stats());
  }
  if (path === '/api/faults') {
    allow('POST');
    guardWrite(req, deps, writeCheck, true);
    await applyFault(deps.faults, await readBody(req));
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/api/tables') {
    allow('GET', 'POST');
    if (method === 'POST') {
      guardWrite(req, deps, writeCheck, true);
      const sql = tableSql(await readBody(req));
      try {
        return sendJson(res, 201, { tables: deps.addTable(sql) });
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(400, (err as Error).message);
      }
    }
    return sendJson(
      res,
      200,
      deps.tables().map((t) => ({ name: t.schema.name, rowCount: t.rowCount, columns: describeColumns(t.schema) })),
    );
  }
  const rowsMatch = /^\/api\/tables\/([^/]+)\/rows$/.exec(path);
  if (rowsMatch) {
    allow('GET', 'DELETE');
    const name = decodeURIComponent(rowsMatch[1]).toLowerCase();
    if (method === 'DELETE') {
      guardWrite(req, deps, writeCheck, false);
      if (!(await deps.clearRows(name))) throw new HttpError(404, `table not found: ${name}`);
      return sendJson(res, 200, { ok: true });
    }
    const limitText = url.searchParams.get('limit');
    let limit = DEFAULT_ROWS;
    if (limitText !== null) {
      limit = Number(limitText);
      if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'limit must be a positive integer');
      limit = Math.min(limit, MAX_ROWS);
    }
    const rows = deps.rows(name, limit);
    if (!rows) throw new HttpError(404, `table not found: ${name}`);
    return sendJson(res, 200, rows);
  }
  throw new HttpError(404, `no such route: ${method} ${path}`);
}

export function createHttpHandler(deps: HttpApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const writeCheck = createApiKeyCheck(deps.writeToken);
  return (req, res) => {
    route(req, res, deps, writeCheck).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendJson(res, err.status, { error: err.message });
      else sendJson(res, 500, { error: 'internal error' });
    });
  };
}
