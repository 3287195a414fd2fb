/**
 * Node routes without touching Express internals: ONE dispatcher middleware per HTTP app
 * (Node-RED's `RED.httpNode`) looks each request up in a table of base paths. Nodes claim a
 * base path on start and release it on close, so a redeploy never stacks handlers and a second
 * node on a taken path is refused instead of silently shadowing the first. A release may hold the
 * path vacant for a while: between the old node's close and the new node's claim a full redeploy
 * leaves a gap, and a client that gets a 404 there may give up where a 503 would make it retry.
 * Better still, requests that arrive in the gap can be parked (briefly, boundedly) and served by
 * the successor once it is open: a client that posts right after a deploy request returned
 * (Node-RED answers it before the new flows have started) then gets its 200 instead of a 503.
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

/** Which requests wait for the path's (next) owner to open, and for how long at most. */
export interface Parking {
  /** sub-paths worth waiting for (the receiver's routes); others are served at once */
  parks: (subPath: string) => boolean;
  /** longest wait of one request; then the route as it is serves it (a vacancy: its 503) */
  maxMs: number;
}

/** Most requests parked on one path: beyond that they are served at once. */
const MAX_PARKED = 1000;

interface ParkedRequest {
  req: IncomingMessage;
  res: ServerResponse;
  next: Next;
  timer: NodeJS.Timeout;
}

interface Route {
  /** undefined while the path is held vacant: any claim takes it */
  owner: string | undefined;
  handler: RouteHandler;
  middleware: Middleware[];
  /** ends the vacancy (clears its timer, calls its onEnd) */
  endVacancy?: () => void;
  /** set while requests wait: during a vacancy, and on a claim until open() */
  parking?: Parking;
  parked: ParkedRequest[];
}

/** What a released path does until it is claimed again or the hold ends. */
export interface VacancyHold {
  /** serves requests meanwhile (the old middleware still runs first) */
  handler: RouteHandler;
  /** longest time the path stays held; then it is free and requests fall through (404) */
  ms: number;
  /** called once when the vacancy ends, whichever way */
  onEnd?: () => void;
  /** park requests for the successor instead of answering them with `handler` at once */
  parking?: Parking;
}

export interface ClaimOptions {
  /** park requests until `open()` (e.g. until the rest of the flows has started) */
  parking?: Parking;
}

const tables = new WeakMap<MiddlewareApp, Map<string, Route>>();

/**
 * `release()` frees the path at once; `release(hold)` holds it vacant and returns a function
 * that frees it early (unless claimed meanwhile).
 */
export type Claim =
  | { ok: true; basePath: string; release: (hold?: VacancyHold) => () => void; open: () => void }
  | { ok: false; basePath: string; owner: string };

/** '/a//b/' → '/a/b'; '' and '/' → '' (the root). */
export function normaliseBasePath(path: string): string {
  const p = `/${path.trim()}`.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return p === '/' ? '' : p;
}

export function claimRoute(app: MiddlewareApp, basePath: string, owner: string, handler: RouteHandler, middleware: Middleware[] = [], options: ClaimOptions = {}): Claim {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  const current = table.get(base);
  if (current?.owner !== undefined && current.owner !== owner) return { ok: false, basePath: base, owner: current.owner };
  current?.endVacancy?.();
  const route: Route = { owner, handler, middleware, parking: options.parking, parked: current?.parked ?? [] };
  table.set(base, route);
  // requests parked in the vacancy now wait for this route; without parking it serves them now
  if (!route.parking) unpark(table, route);
  return {
    ok: true,
    basePath: base,
    release: (hold) => {
      if (table.get(base) !== route) return () => undefined;
      if (!hold) {
        table.delete(base);
        unpark(table, route);
        return () => undefined;
      }
      return holdVacant(table, base, route, hold);
    },
    open: () => {
      if (!route.parking) return;
      route.parking = undefined;
      unpark(table, route);
    },
  };
}

function holdVacant(table: Map<string, Route>, base: string, previous: Route, hold: VacancyHold): () => void {
  const vacant: Route = { owner: undefined, handler: hold.handler, middleware: previous.middleware, parking: hold.parking, parked: previous.parked };
  previous.parked = [];
  let timer: NodeJS.Timeout | undefined;
  vacant.endVacancy = () => {
    if (!vacant.endVacancy) return;
    vacant.endVacancy = undefined;
    clearTimeout(timer);
    hold.onEnd?.();
  };
  const free = () => {
    if (table.get(base) === vacant) {
      table.delete(base);
      unpark(table, vacant); // they fall through now (404, or another route)
    }
    vacant.endVacancy?.();
  };
  table.set(base, vacant);
  timer = setTimeout(free, hold.ms);
  // a stopped runtime must be able to exit while a path is held
  timer.unref?.();
  return free;
}

/**
 * Holds a path nobody holds yet vacant, as if a receiver had just released it: for a node that a
 * deploy is about to start, so that requests arriving before its constructor claims the path wait
 * for it instead of getting a 404. Returns a function that frees the path unless it was claimed
 * meanwhile (undefined when the path is already held: its holder stays).
 */
export function reserveRoute(app: MiddlewareApp, basePath: string, hold: VacancyHold, middleware: Middleware[] = []): (() => void) | undefined {
  const base = normaliseBasePath(basePath);
  const table = tableOf(app);
  if (table.has(base)) return undefined;
  return holdVacant(table, base, { owner: undefined, handler: hold.handler, middleware, parked: [] }, hold);
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

/** Whether a path (relative to the app's mount point) falls under a base path held on this app. */
export function routeServes(app: MiddlewareApp, path: string): boolean {
  const table = tables.get(app);
  return table !== undefined && longestBase(table, path.replace(/\/+$/, '')) !== undefined;
}

/** The longest base path of the table that `path` is or lies under. */
function longestBase(table: Map<string, Route>, path: string): string | undefined {
  let best: string | undefined;
  for (const base of table.keys()) {
    if ((path === base || path.startsWith(`${base}/`)) && (best === undefined || base.length > best.length)) best = base;
  }
  return best;
}

function dispatch(table: Map<string, Route>, req: IncomingMessage, res: ServerResponse, next: Next): void {
  if (table.size === 0) return next();
  const path = requestPath(req);
  const best = longestBase(table, path);
  if (best === undefined) return next();
  const route = table.get(best)!;
  const subPath = path.slice(best.length);
  if (route.parking && route.parked.length < MAX_PARKED && route.parking.parks(subPath)) {
    park(table, route, req, res, next, route.parking.maxMs);
    return;
  }
  serve(route, req, res, next, subPath);
}

function serve(route: Route, req: IncomingMessage, res: ServerResponse, next: Next, subPath: string): void {
  runChain(route.middleware, req, res, (err) => {
    if (err) return next(err);
    try {
      route.handler(req, res, next, subPath);
    } catch (e) {
      next(e);
    }
  });
}

/**
 * Waits for the route's owner to open. At the deadline the request is served by whatever holds the
 * path then (a vacancy answers 503 + Retry-After); the request keeps its place in the table it
 * was parked on when the route is replaced.
 */
function park(table: Map<string, Route>, route: Route, req: IncomingMessage, res: ServerResponse, next: Next, maxMs: number): void {
  // the list moves whole from a vacancy to its successor: it, not the route, is the entry's home
  const list = route.parked;
  const leave = (): boolean => {
    const i = list.indexOf(entry);
    if (i < 0) return false;
    list.splice(i, 1);
    clearTimeout(entry.timer);
    return true;
  };
  const entry: ParkedRequest = {
    req,
    res,
    next,
    timer: setTimeout(() => {
      const holder = [...table.entries()].find(([, r]) => r.parked === list);
      if (!leave()) return;
      if (!holder) return dispatch(table, req, res, next);
      serve(holder[1], req, res, next, requestPath(req).slice(holder[0].length));
    }, maxMs),
  };
  entry.timer.unref?.();
  list.push(entry);
  // a client that gave up is not served later
  res.once('close', leave);
}

/** Serves the requests parked on `route` by whatever holds their path now. */
function unpark(table: Map<string, Route>, route: Route): void {
  const waiting = route.parked.splice(0);
  for (const p of waiting) {
    clearTimeout(p.timer);
    setImmediate(() => dispatch(table, p.req, p.res, p.next));
  }
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
