/**
 * Node routes without touching Express internals: ONE dispatcher middleware per HTTP app
 * (Node-RED's `RED.httpNode`) looks each request up in a table of base paths. Nodes claim a
 * base path on start and release it on close, so a redeploy never stacks handlers and a second
 * node on a taken path is refused instead of silently shadowing the first. A release may hold the
 * path vacant for a while: between the old node's close and the new node's claim a full redeploy
 * leaves a gap, and a client that gets a 404 there may give up where a 503 would make it retry.
 * Tests create a new app per runtime: tables are kept per app in a WeakMap.
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
  /** undefined while the path is held vacant: any claim takes it */
  owner: string | undefined;
  handler: RouteHandler;
  middleware: Middleware[];
  /** ends the vacancy (clears its timer, calls its onEnd) */
  endVacancy?: () => void;
}

/** What a released path does until it is claimed again or the hold ends. */
export interface VacancyHold {
  /** serves requests meanwhile (the old middleware still runs first) */
  handler: RouteHandler;
  /** longest time the path stays held; then it is free and requests fall through (404) */
  ms: number;
  /** called once when the vacancy ends, whichever way */
  onEnd?: () => void;
}

const tables = new WeakMap<MiddlewareApp, Map<string, Route>>();

/**
 * `release()` frees the path at once; `release(hold)` holds it vacant and returns a function
 * that frees it early (unless claimed meanwhile).
 */
export type Claim =
  | { ok: true; basePath: string; release: (hold?: VacancyHold) => () => void }
  | { ok: false; basePath: string; owner: string };

/** '/a//b/' → '/a/b'; '' and '/' → '' (the root). */
export function normaliseBasePath(path: string): string {
  const p = `/${path.trim()}`.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return p === '/' ? '' : p;
}

export function claimRoute(app: MiddlewareApp, basePath: string, owner: string, handler: RouteHandler, middleware: Middleware[] = []): Claim {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  const current = table.get(base);
  if (current?.owner !== undefined && current.owner !== owner) return { ok: false, basePath: base, owner: current.owner };
  current?.endVacancy?.();
  const route: Route = { owner, handler, middleware };
  table.set(base, route);
  return {
    ok: true,
    basePath: base,
    release: (hold) => {
      if (table.get(base) !== route) return () => undefined;
      if (!hold) {
        table.delete(base);
        return () => undefined;
      }
      return holdVacant(table, base, route.middleware, hold);
    },
  };
}

function holdVacant(table: Map<string, Route>, base: string, middleware: Middleware[], hold: VacancyHold): () => void {
  const vacant: Route = { owner: undefined, handler: hold.handler, middleware };
  let timer: NodeJS.Timeout | undefined;
  vacant.endVacancy = () => {
    if (!vacant.endVacancy) return;
    vacant.endVacancy = undefined;
    clearTimeout(timer);
    hold.onEnd?.();
  };
  const free = () => {
    if (table.get(base) === vacant) table.delete(base);
    vacant.endVacancy?.();
  };
  table.set(base, vacant);
  timer = setTimeout(free, hold.ms);
  // a stopped runtime must be able to exit while a path is held
  timer.unref?.();
  return free;
}

/** Who holds a base path on this app, if anyone (nobody while it is held vacant). */
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
