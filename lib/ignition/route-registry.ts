/**
 * Node routes without touching Express internals: ONE dispatcher middleware per HTTP app
 * (Node-RED's `RED.httpNode`) looks each request up in a table of base paths. Nodes claim a
 * base path on start and release it on close, so a redeploy never stacks handlers, the old
 * route is gone the moment its node closes, and a second node on a taken path is refused
 * instead of silently shadowing the first. Tests create a new app per runtime: tables are kept
 * per app in a WeakMap.
 */
import type { IncomingMessage, ServerResponse } from 'http';

export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
/** The part of an Express app the registry uses. */
export interface MiddlewareApp {
  use(fn: Middleware): unknown;
}
/** Serves the request; `subPath` is what follows the base path ('' for the base itself). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, next: Next, subPath: string) => void;

interface Route {
  owner: string;
  handler: RouteHandler;
  middleware: Middleware[];
}

const tables = new WeakMap<MiddlewareApp, Map<string, Route>>();

export type Claim = { ok: true; basePath: string; release: () => void } | { ok: false; basePath: string; owner: string };

/** '/a//b/' → '/a/b'; '' and '/' → '' (the root). */
export function normaliseBasePath(path: string): string {
  const p = `/${path.trim()}`.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return p === '/' ? '' : p;
}

export function claimRoute(app: MiddlewareApp, basePath: string, owner: string, handler: RouteHandler, middleware: Middleware[] = []): Claim {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  const current = table.get(base);
  if (current && current.owner !== owner) return { ok: false, basePath: base, owner: current.owner };
  const route: Route = { owner, handler, middleware };
  table.set(base, route);
  return {
    ok: true,
    basePath: base,
    release: () => {
      if (table.get(base) === route) table.delete(base);
    },
  };
}

/** Who holds a base path on this app, if anyone. */
export function routeOwner(app: MiddlewareApp, basePath: string): string | undefined {
  return tables.get(app)?.get(normaliseBasePath(basePath))?.owner;
}

function tableOf(app: MiddlewareApp): Map<string, Route> {
  let table = tables.get(app);
  if (!table) {
    const created = new Map<string, Route>();
    table = created;
    tables.set(app, created);
    app.use((req, res, next) => dispatch(created, req, res, next));
  }
  return table;
}

function dispatch(table: Map<string, Route>, req: IncomingMessage, res: ServerResponse, next: Next): void {
  if (table.size === 0) return next();
  const path = requestPath(req);
  let best: string | undefined;
  for (const base of table.keys()) {
    if ((path === base || path.startsWith(`${base}/`)) && (best === undefined || base.length > best.length)) best = base;
  }
  if (best === undefined) return next();
  const route = table.get(best)!;
  const subPath = path.slice(best.length);
  runChain(route.middleware, req, res, (err) => {
    if (err) return next(err);
    try {
      route.handler(req, res, next, subPath);
    } catch (e) {
      next(e);
    }
  });
}

/** Runs middleware in order like Express would; an error or a thrown exception stops the chain. */
function runChain(chain: Middleware[], req: IncomingMessage, res: ServerResponse, done: Next): void {
  let i = 0;
  const step: Next = (err) => {
    if (err !== undefined && err !== null && err !== 'route') return done(err);
    const mw = chain[i++];
    if (!mw) return done();
    try {
      mw(req, res, step);
    } catch (e) {
      done(e);
    }
  };
  step();
}

/** Express sets `req.path` relative to where the app is mounted; fall back to the raw URL. */
function requestPath(req: IncomingMessage & { path?: string }): string {
  if (typeof req.path === 'string') return req.path.replace(/\/+$/, '') || '';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
}
