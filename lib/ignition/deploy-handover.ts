/**
 * How receiver paths change hands across a deploy, driven by the runtime's deploy events (Node-RED's
 * `RED.events`, passed in). The route states themselves are route-path.ts's; this decides when to
 * move them, so that a client never gets a 404 from a path a deploy is about to serve:
 *
 * - 'flows:stopped' (carries the next deploy's flow config; comes before Node-RED answers the
 *   deploy request) and 'flows:starting' (the first start, which no stop precedes): the paths of
 *   the receivers about to be created are `reserved` — requests wait for their node.
 * - a node's constructor claims its path `opening`: requests wait until every node of the deploy
 *   exists, so the zerobus-out behind it is there to make them durable.
 * - 'flows:started' (or ROUTE_PARK_MS without it): the claim opens; what no node claimed is freed.
 * - a node's close leaves its path `vacant` until the next start (at most REDEPLOY_HOLD_MS).
 *
 * While held, a request waits at most ROUTE_PARK_MS, then gets 503 + Retry-After (docs/DESIGN.md
 * §4.3: the gateway keeps its batch and sends it again). One hand-over per runtime: its listeners
 * are added once, and it reads the runtime as the node's latest load passed it.
 */
import { REDEPLOY_HOLD_MS, ROUTE_PARK_MS } from './limits';
import { isReceiverRoute, vacantRouteHandler } from './receiver-routes';
import { claimRoute, reserveRoute, type Claim, type Middleware, type MiddlewareApp, type RouteHandler, type VacancyHold } from './route-registry';

/** The runtime's deploy events, as far as the hand-over listens to them. */
export interface DeployEvents {
  on(event: 'flows:stopped' | 'flows:starting' | 'flows:started', listener: (event?: DeployEvent) => void): unknown;
}

/** What a deploy event carries: the flow config being started. */
export interface DeployEvent {
  config?: { flows?: unknown[] };
}

/** A node of a deploy's flow config, with its `path` as its node will see it. */
export interface FlowNodeDef {
  type: string;
  path?: string;
  [property: string]: unknown;
}

/** A receiver's path with what its route needs. */
export interface ReceiverPath {
  /** normalised base path */
  path: string;
  /** in the 503 answered while the path is held */
  retryAfterSeconds: number;
  /** runs before the handler (CORS, httpNodeMiddleware), also while the path is held */
  middleware: Middleware[];
}

/** What the hand-over reads from the runtime. */
export interface HandoverRuntime {
  /** the app receiver routes live on; undefined when the runtime serves no HTTP nodes */
  app: MiddlewareApp | undefined;
  /** the node type whose paths are handed over */
  type: string;
  /** a node of a deploy's flow config as its node will resolve it; undefined when it will claim no path */
  resolve(def: FlowNodeDef): ReceiverPath | undefined;
}

export interface ReceiverClaim extends ReceiverPath {
  /** the node id */
  owner: string;
  handler: RouteHandler;
  /** called once requests are served (the flows have started), whether or not the claim took the path */
  onOpen?: () => void;
}

export interface HandedRoute {
  /** the registry's answer: taken, or held by another node */
  readonly claim: Claim;
  /** the node closes: stop waiting for the start, hold the path for the deploy's successor */
  close(): void;
}

/** Requests wait for their receiver at most ROUTE_PARK_MS while it is (re)deployed. */
const PARKING = { parks: isReceiverRoute, maxMs: ROUTE_PARK_MS };

export class DeployHandover {
  /** run once at the next 'flows:started', in the order they came */
  private readonly atStart = new Set<() => void>();

  constructor(
    events: DeployEvents,
    private runtime: HandoverRuntime,
  ) {
    events.on('flows:stopped', (e) => this.reserveStarting(e));
    events.on('flows:starting', (e) => this.reserveStarting(e));
    events.on('flows:started', () => this.started());
  }

  /** The runtime as the node's latest load sees it. */
  follow(runtime: HandoverRuntime): void {
    this.runtime = runtime;
  }

  /** Claims a receiver's path on `app`; it opens once the flows have started. */
  claim(app: MiddlewareApp, receiver: ReceiverClaim): HandedRoute {
    const claim = claimRoute(app, receiver.path, receiver.owner, receiver.handler, receiver.middleware, { parking: PARKING });
    const stopWaiting = this.onStart(() => {
      if (claim.ok) claim.open();
      receiver.onOpen?.();
    }, ROUTE_PARK_MS);
    return {
      claim,
      close: () => {
        stopWaiting();
        // a path nobody claims (node removed or moved) is free once the flows have started
        if (claim.ok) this.holdUntilStarted(receiver.retryAfterSeconds, (hold) => claim.release(hold));
      },
    };
  }

  private reserveStarting(event: DeployEvent | undefined): void {
    const { app, type } = this.runtime;
    if (!app) return;
    for (const def of startingNodes(event?.config?.flows, type)) {
      const route = this.runtime.resolve(def);
      if (route) this.holdUntilStarted(route.retryAfterSeconds, (hold) => reserveRoute(app, route.path, hold, route.middleware));
    }
  }

  private started(): void {
    const due = [...this.atStart];
    this.atStart.clear();
    for (const run of due) run();
  }

  /** Runs `fn` once: at the next start, or after `ms` should none come. Returns what cancels it. */
  private onStart(fn: () => void, ms: number): () => void {
    const cancel = () => {
      clearTimeout(timer);
      this.atStart.delete(run);
    };
    const run = () => {
      cancel();
      fn();
    };
    const timer = setTimeout(run, ms);
    timer.unref?.();
    this.atStart.add(run);
    return cancel;
  }

  /**
   * Holds a path for its next receiver until the flows have started (at most REDEPLOY_HOLD_MS).
   * `take` returns the function that frees the path, or undefined when it did not take it.
   */
  private holdUntilStarted(retryAfterSeconds: number, take: (hold: VacancyHold) => (() => void) | undefined): void {
    const freeAtStart = () => free?.();
    const free = take({
      handler: vacantRouteHandler(retryAfterSeconds),
      ms: REDEPLOY_HOLD_MS,
      parking: PARKING,
      onEnd: () => this.atStart.delete(freeAtStart),
    });
    if (free) this.atStart.add(freeAtStart);
  }
}

const handovers = new WeakMap<DeployEvents, DeployHandover>();

/** The hand-over of the runtime these events belong to, now reading `runtime`. */
export function deployHandover(events: DeployEvents, runtime: HandoverRuntime): DeployHandover {
  let handover = handovers.get(events);
  if (handover) handover.follow(runtime);
  else handovers.set(events, (handover = new DeployHandover(events, runtime)));
  return handover;
}

/**
 * The enabled nodes of `type` in a deploy's flow config, with a `${VAR}` path read from the
 * environment; a node whose path cannot be known here (another form of substitution, an unset
 * variable) is left out.
 */
export function startingNodes(flows: unknown[] | undefined, type: string): FlowNodeDef[] {
  const found: FlowNodeDef[] = [];
  for (const item of flows ?? []) {
    const def = item as (FlowNodeDef & { d?: boolean }) | null;
    if (!def || def.type !== type || def.d === true) continue;
    const path = pathFromEnv(def.path);
    if (path !== null) found.push({ ...def, path });
  }
  return found;
}

/** A path as the node will see it: `${VAR}` read from the environment; null when that cannot be known here. */
function pathFromEnv(path: unknown): string | undefined | null {
  if (typeof path !== 'string') return undefined;
  if (!path.includes('$')) return path;
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(path.trim());
  return m && process.env[m[1]] !== undefined ? process.env[m[1]]! : null;
}
