/**
 * Node routes without touching Express internals: ONE dispatcher middleware per HTTP app
 * (Node-RED's `RED.httpNode`) looks each request up in a table of base paths. Nodes claim a
 * base path on start and release it on close, so a redeploy never stacks handlers and a second
 * node on a taken path is refused instead of silently shadowing the first. A release may hold the
 * path vacant for a while: between the old node's close and the new node's claim a full redeploy
 * leaves a gap, and a client that gets a 404 there may give up where a 503 would make it retry.
 * Better still, requests that arrive in the gap are parked (briefly, boundedly) and served by the
 * successor once it is open. Each path's states and moves are `RoutePath`'s (route-path.ts).
 * Tests create a new app per runtime: tables are kept per app in a WeakMap.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { RoutePath, type Middleware, type Next, type Owner, type Parking, type PathTable, type RouteHandler, type RouteStateName, type VacancyHold } from './route-path';

export type { Middleware, Next, Parking, RouteHandler, RouteStateName, VacancyHold } from './route-path';

/** The part of an Express app the registry uses. */
export interface MiddlewareApp {
  use(fn: Middleware): unknown;
}

export interface ClaimOptions {
  /** park requests until `open()` (e.g. until the rest of the flows has started) */
  parking?: Parking;
}

/**
 * `release()` frees the path at once; `release(hold)` holds it vacant and returns a function
 * that frees it early (unless claimed meanwhile).
 */
export type Claim =
  | { ok: true; basePath: string; release: (hold?: VacancyHold) => () => void; open: () => void }
  | { ok: false; basePath: string; owner: string };

/** The paths of one app, with the dispatcher that serves them. */
class RouteTable implements PathTable {
  readonly paths = new Map<string, RoutePath>();

  remove(path: RoutePath): void {
    for (const [base, p] of this.paths) if (p === path) this.paths.delete(base);
  }

  dispatch(req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (this.paths.size === 0) return next();
    const path = requestPath(req);
    const best = this.longestBase(path);
    if (best === undefined) return next();
    this.paths.get(best)!.handle(req, res, next, path.slice(best.length));
  }

  /** The longest base path in the table that `path` is or lies under. */
  longestBase(path: string): string | undefined {
    let best: string | undefined;
    for (const base of this.paths.keys()) {
      if ((path === base || path.startsWith(`${base}/`)) && (best === undefined || base.length > best.length)) best = base;
    }
    return best;
  }
}

const tables = new WeakMap<MiddlewareApp, RouteTable>();

/** '/a//b/' → '/a/b'; '' and '/' → '' (the root). */
export function normaliseBasePath(path: string): string {
  const p = `/${path.trim()}`.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return p === '/' ? '' : p;
}

export function claimRoute(app: MiddlewareApp, basePath: string, owner: string, handler: RouteHandler, middleware: Middleware[] = [], options: ClaimOptions = {}): Claim {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  const claim: Owner = { id: owner, handler, middleware, parking: options.parking };
  let path = table.paths.get(base);
  if (!path) table.paths.set(base, (path = RoutePath.claimed(table, claim)));
  else if (!path.claim(claim)) return { ok: false, basePath: base, owner: path.ownerId! };
  const taken = path;
  return { ok: true, basePath: base, release: (hold) => taken.release(claim, hold), open: () => taken.open(claim) };
}

/**
 * Holds a path nobody holds yet, as if a receiver had just released it: for a node that a
 * deploy is about to start, so that requests arriving before its constructor claims the path wait
 * for it instead of getting a 404. Returns a function that frees the path unless it was claimed
 * meanwhile (undefined when the path is already held: its holder stays).
 */
export function reserveRoute(app: MiddlewareApp, basePath: string, hold: VacancyHold, middleware: Middleware[] = []): (() => void) | undefined {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  if (table.paths.has(base)) return undefined;
  const { path, free } = RoutePath.reserved(table, hold, middleware);
  table.paths.set(base, path);
  return free;
}

/** Who holds a base path on this app, if anyone (nobody while it is held vacant or reserved). */
export function routeOwner(app: MiddlewareApp, basePath: string): string | undefined {
  return tables.get(app)?.paths.get(normaliseBasePath(basePath))?.ownerId;
}

/** The state of a base path on this app; 'free' when it is in no table. */
export function routeState(app: MiddlewareApp, basePath: string): RouteStateName | 'free' {
  return tables.get(app)?.paths.get(normaliseBasePath(basePath))?.stateName ?? 'free';
}

/** Whether a path (relative to the app's mount point) falls under a base path held on this app, in any state. */
export function routeServes(app: MiddlewareApp, path: string): boolean {
  return tables.get(app)?.longestBase(path.replace(/\/+$/, '')) !== undefined;
}

/** How many requests wait on a base path for its (next) owner. */
export function parkedRequests(app: MiddlewareApp, basePath: string): number {
  return tables.get(app)?.paths.get(normaliseBasePath(basePath))?.parkedCount ?? 0;
}

function tableOf(app: MiddlewareApp): RouteTable {
  let table = tables.get(app);
  if (!table) {
    const created = new RouteTable();
    table = created;
    tables.set(app, created);
    app.use((req, res, next) => created.dispatch(req, res, next));
  }
  return table;
}

/** Express sets `req.path` relative to where the app is mounted; fall back to the raw URL. */
function requestPath(req: IncomingMessage & { path?: string }): string {
  if (typeof req.path === 'string') return req.path.replace(/\/+$/, '') || '';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
}
