/**
 * Counters of one receiver, served at `{path}/diagnostics` under the names, types and meanings
 * of the Ignition Zerobus module's diagnostics (docs/MIGRATING.md lists each field), with the
 * package's own finer counters beside them. Never holds secrets.
 */
import type { SinkState } from '../delivery/sinks';

export class ReceiverCounters {
  /** events in well-formed requests */
  totalEventsReceived = 0;
  /** events passed downstream */
  totalEventsEmitted = 0;
  /** events confirmed durable in a spool (`durable`), or passed downstream (`received`) */
  totalEventsSpooled = 0;
  /** events passed downstream whose delivery failed or was not confirmed in time */
  totalEventsFailed = 0;
  /** events refused one by one (invalid, over a limit) */
  rejected = 0;
  duplicatesDropped = 0;
  /** events passed downstream and still waiting for durability */
  eventsAwaitingSpool = 0;
  /** ms epoch of the last request that carried events */
  lastEventTime: number | null = null;
  /** requests whose body an earlier body parser had already read */
  bodyPreParsed = 0;
  lastBodyPreParsedAt: number | null = null;
  readonly requestsByStatus: Record<string, number> = {};
  /** the last refused request: status and message (no body content beyond the message) */
  lastRefusal: { status: number; message: string; at: number } | null = null;

  countResponse(status: number): void {
    const k = String(status);
    this.requestsByStatus[k] = (this.requestsByStatus[k] ?? 0) + 1;
  }
}

/**
 * Records Zerobus acknowledged through the sinks a receiver feeds, counted from the receiver's
 * start: the module's `totalEventsSent`. Sinks count from their own start, so each sink's count
 * is read as a difference from the last look; a sink that restarted (new instance) counts
 * from zero again. Acknowledgements of a sink that stopped between two looks are not seen.
 */
export class AcknowledgedTally {
  private readonly last = new Map<string, { instance: number | undefined; acknowledged: number }>();
  private sum = 0;

  /** `atStart`: the sinks already running when the receiver started (their earlier acks are not ours) */
  constructor(atStart: SinkState[] = []) {
    for (const s of atStart) this.last.set(s.id, { instance: s.instance, acknowledged: s.acknowledged ?? 0 });
  }

  get total(): number {
    return this.sum;
  }

  observe(sinks: SinkState[]): number {
    for (const s of sinks) {
      const now = s.acknowledged ?? 0;
      const before = this.last.get(s.id);
      const base = before && before.instance === s.instance ? before.acknowledged : 0;
      if (now > base) this.sum += now - base;
      if (!before || before.instance !== s.instance || before.acknowledged !== now) this.last.set(s.id, { instance: s.instance, acknowledged: now });
    }
    return this.sum;
  }
}

export const PRE_PARSED_EXPLANATION =
  'Request bodies reach this receiver already parsed by the Node-RED editor\'s JSON body parser, because the admin API ' +
  'and node routes share one root (httpAdminRoot and httpNodeRoot). That parser answers malformed JSON and bare NaN/Infinity ' +
  'tokens with its own HTML 400 and bodies over apiMaxLength (default 5 MB) with 413 before the receiver sees them. ' +
  'To give the receiver full control, set httpAdminRoot to a separate path (e.g. "/admin") in settings.js, or raise ' +
  'apiMaxLength above maxBodyBytes (e.g. "11mb").';
