/**
 * The hand-over state machine of one base path on an HTTP app. A free path is in no table.
 *
 *   state     | who answers                                   | moves
 *   (free)    | nobody: requests fall through (404)           | claim → opening (open when the claim
 *             |                                               | does not park); reserve → reserved
 *   opening   | its owner; receiver routes park until open()  | open() → open; release() → free;
 *             |                                               | release(hold) → vacant
 *   open      | its owner                                     | release() → free; release(hold) → vacant
 *   vacant    | receiver routes park for a successor, then    | claim → opening/open;
 *             | the hold's handler (503 + Retry-After)        | free() or the hold's end → free
 *   reserved  | as vacant                                     | as vacant
 *
 * `vacant` follows an owner's release (its middleware still runs first); `reserved` is a path
 * nobody held, kept for a node a deploy is about to create. A claim takes a held path at once and
 * inherits the requests parked there; a second owner is refused while one holds the path. A parked
 * request is served by whatever holds the path when it leaves: the owner that opened, or at its
 * deadline the current state's handler; when the path is freed it is routed again (falls through).
 */
import type { IncomingMessage, ServerResponse } from 'http';

export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
/** Serves the request; `subPath` is what follows the base path ('' for the base itself). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, next: Next, subPath: string) => void;

/** Which requests wait for the path's (next) owner to open, and for how long at most. */
export interface Parking {
  /** sub-paths worth waiting for (the receiver's routes); others are served at once */
  parks: (subPath: string) => boolean;
  /** longest wait of one request; then the route as it is serves it (a vacancy: its 503) */
  maxMs: number;
}

/** What a path does while it is held for a successor (released, or reserved). */
export interface VacancyHold {
  /** serves requests meanwhile (a released path's old middleware still runs first) */
  handler: RouteHandler;
  /** longest time the path stays held; then it is free and requests fall through (404) */
  ms: number;
  /** called once when the hold ends, whichever way */
  onEnd?: () => void;
  /** park requests for the successor instead of answering them with `handler` at once */
  parking?: Parking;
}

export type RouteStateName = 'opening' | 'open' | 'reserved' | 'vacant';

/** One claim of the path: its identity tells a current owner from a replaced one. */
export interface Owner {
  id: string;
  handler: RouteHandler;
  middleware: Middleware[];
  /** park requests until `open()`; without it the claim opens at once */
  parking?: Parking;
}

interface Hold {
  handler: RouteHandler;
  middleware: Middleware[];
  parking?: Parking;
  onEnd?: () => void;
  timer?: NodeJS.Timeout;
  ended: boolean;
}

type State = { name: 'opening' | 'open'; owner: Owner } | { name: 'reserved' | 'vacant'; hold: Hold };

/** What a path needs of the table it sits in. */
export interface PathTable {
  /** takes the path out: requests for it fall through from now on */
  remove(path: RoutePath): void;
  /** routes a request again, as if it had just arrived */
  dispatch(req: IncomingMessage, res: ServerResponse, next: Next): void;
}

/** Most requests parked on one path: beyond that they are served at once. */
export const MAX_PARKED = 1000;

interface ParkedRequest {
  req: IncomingMessage;
  res: ServerResponse;
  next: Next;
  subPath: string;
  timer: NodeJS.Timeout;
}

export class RoutePath {
  private state: State;
  private readonly parked: ParkedRequest[] = [];
  private removed = false;

  private constructor(
    private readonly table: PathTable,
    state: State,
  ) {
    this.state = state;
  }

  /** A path taken by its first owner. */
  static claimed(table: PathTable, owner: Owner): RoutePath {
    return new RoutePath(table, { name: owner.parking ? 'opening' : 'open', owner });
  }

  /** A path nobody held, kept for a node about to be created; returns it and its early free. */
  static reserved(table: PathTable, hold: VacancyHold, middleware: Middleware[]): { path: RoutePath; free: () => void } {
    const held = newHold(hold, middleware);
    const path = new RoutePath(table, { name: 'reserved', hold: held });
    return { path, free: path.startHold(held, hold.ms) };
  }

  get stateName(): RouteStateName {
    return this.state.name;
  }

  /** Who owns the path (nobody while it is held). */
  get ownerId(): string | undefined {
    return 'owner' in this.state ? this.state.owner.id : undefined;
  }

  /** Requests waiting for the path's (next) owner. */
  get parkedCount(): number {
    return this.parked.length;
  }

  /** Takes the path unless another owner holds it; a hold ends, parked requests stay for `owner`. */
  claim(owner: Owner): boolean {
    const s = this.state;
    if ('owner' in s && s.owner.id !== owner.id) return false;
    if ('hold' in s) endHold(s.hold);
    this.state = { name: owner.parking ? 'opening' : 'open', owner };
    if (!owner.parking) this.unpark();
    return true;
  }

  /** The owner is ready: what waited is served now (a no-op for a replaced owner). */
  open(owner: Owner): void {
    if (this.state.name !== 'opening' || this.state.owner !== owner) return;
    this.state = { name: 'open', owner };
    this.unpark();
  }

  /**
   * The owner lets go: without a hold the path is free at once; with one it is `vacant` until a
   * claim, the returned early free, or the hold's end. A no-op for a replaced owner.
   */
  release(owner: Owner, hold?: VacancyHold): () => void {
    if (this.removed || !('owner' in this.state) || this.state.owner !== owner) return () => undefined;
    if (!hold) {
      this.remove();
      return () => undefined;
    }
    const held = newHold(hold, owner.middleware);
    this.state = { name: 'vacant', hold: held };
    return this.startHold(held, hold.ms);
  }

  /** Serves a request for this path, or parks it while the path waits for its (next) owner. */
  handle(req: IncomingMessage, res: ServerResponse, next: Next, subPath: string): void {
    const parking = this.state.name === 'open' ? undefined : 'owner' in this.state ? this.state.owner.parking : this.state.hold.parking;
    if (parking && this.parked.length < MAX_PARKED && parking.parks(subPath)) this.park(req, res, next, subPath, parking.maxMs);
    else this.serve(req, res, next, subPath);
  }

  private startHold(held: Hold, ms: number): () => void {
    const free = () => {
      if (!this.removed && 'hold' in this.state && this.state.hold === held) this.remove();
      endHold(held);
    };
    held.timer = setTimeout(free, ms);
    // a stopped runtime must be able to exit while a path is held
    held.timer.unref?.();
    return free;
  }

  private remove(): void {
    this.removed = true;
    this.table.remove(this);
    this.unpark(); // they fall through now (404, or another route)
  }

  private serve(req: IncomingMessage, res: ServerResponse, next: Next, subPath: string): void {
    const { handler, middleware } = 'owner' in this.state ? this.state.owner : this.state.hold;
    runChain(middleware, req, res, (err) => {
      if (err) return next(err);
      try {
        handler(req, res, next, subPath);
      } catch (e) {
        next(e);
      }
    });
  }

  /** Waits for the path's owner to open; at the deadline whatever holds the path then serves it. */
  private park(req: IncomingMessage, res: ServerResponse, next: Next, subPath: string, maxMs: number): void {
    const leave = (): boolean => {
      const i = this.parked.indexOf(entry);
      if (i < 0) return false;
      this.parked.splice(i, 1);
      clearTimeout(entry.timer);
      return true;
    };
    const entry: ParkedRequest = {
      req,
      res,
      next,
      subPath,
      timer: setTimeout(() => {
        if (!leave()) return;
        if (this.removed) this.table.dispatch(req, res, next);
        else this.serve(req, res, next, subPath);
      }, maxMs),
    };
    entry.timer.unref?.();
    this.parked.push(entry);
    // a client that gave up is not served later
    res.once('close', leave);
  }

  /** Routes what waited again, now that the path changed. */
  private unpark(): void {
    for (const p of this.parked.splice(0)) {
      clearTimeout(p.timer);
      setImmediate(() => this.table.dispatch(p.req, p.res, p.next));
    }
  }
}

function newHold(hold: VacancyHold, middleware: Middleware[]): Hold {
  return { handler: hold.handler, middleware, parking: hold.parking, onEnd: hold.onEnd, ended: false };
}

function endHold(held: Hold): void {
  if (held.ended) return;
  held.ended = true;
  clearTimeout(held.timer);
  held.onEnd?.();
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
