/** Counters of one receiver, served at `{path}/diagnostics`. Never holds secrets. */
export class ReceiverCounters {
  /** events in well-formed requests */
  totalEventsReceived = 0;
  /** events passed downstream */
  totalEventsEmitted = 0;
  /** events confirmed durable (`durable`), or passed downstream (`received`) */
  totalEventsSent = 0;
  /** events passed downstream whose delivery failed or was not confirmed in time */
  totalEventsFailed = 0;
  /** events refused one by one (invalid, over a limit) */
  rejected = 0;
  duplicatesDropped = 0;
  /** events passed downstream and still waiting for durability */
  queueSize = 0;
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

export const PRE_PARSED_EXPLANATION =
  'Request bodies reach this receiver already parsed by the Node-RED editor\'s JSON body parser, because the admin API ' +
  'and node routes share one root (httpAdminRoot and httpNodeRoot). That parser answers malformed JSON and bare NaN/Infinity ' +
  'tokens with its own HTML 400 and bodies over apiMaxLength (default 5 MB) with 413 before the receiver sees them. ' +
  'To give the receiver full control, set httpAdminRoot to a separate path (e.g. "/admin") in settings.js, or raise ' +
  'apiMaxLength above maxBodyBytes (e.g. "11mb").';
