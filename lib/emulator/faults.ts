/**
 * Fault injection for tests: each control changes how the emulator treats the NEXT things that
 * happen (creates, records, acks, token requests). The same controls are reachable over HTTP
 * (`POST /api/faults {action, args}`) for tests that run the emulator in another process.
 *
 * - dropConnectionAfterRecords(n): once n more records have arrived (counted over all streams),
 *   the request that reaches n is not stored, and every open stream acks what is already durable
 *   and then ends with UNAVAILABLE. Nothing acked is lost and nothing stored is left unacked, so
 *   a correct client ends up with every record exactly once.
 * - refuseCreate(code, times=1, message): the next `times` stream creations end with `code`.
 * - failNextIngest(code, message): the next ingest request (on any stream) is not stored and ends
 *   its stream with `code`.
 * - sendCloseSignal(ms): every open stream gets CloseStreamSignal{ms}, then ends with UNAVAILABLE
 *   after ms (as the real server does every ~15 minutes).
 * - withholdAcks(true): records are still stored but no ack is sent until withholdAcks(false),
 *   which sends the outstanding acks. Each stream logs the first ack it holds back.
 * - ackDelayMs(ms): every ack is sent ms after its records became durable. Each stream logs the
 *   first ack it delays (and again when the delay changes).
 * - tokenEndpointStatus(status): the token endpoint answers every request with that HTTP status.
 * - expireTokens(): every token issued so far is expired (UNAUTHENTICATED on the next create).
 * - revokeGrant(table, on): creates for that table get PERMISSION_DENIED while on.
 */
export interface FaultControls {
  reset(): void;
  dropConnectionAfterRecords(n: number): void;
  refuseCreate(code: number, times?: number, message?: string): void;
  failNextIngest(code: number, message?: string): void;
  sendCloseSignal(durationMs: number): void;
  withholdAcks(on: boolean): void;
  ackDelayMs(ms: number): void;
  tokenEndpointStatus(status: number | null): void;
  expireTokens(): void;
  revokeGrant(table: string, on: boolean): void;
}

export const FAULT_ACTIONS = [
  'reset',
  'dropConnectionAfterRecords',
  'refuseCreate',
  'failNextIngest',
  'sendCloseSignal',
  'withholdAcks',
  'ackDelayMs',
  'tokenEndpointStatus',
  'expireTokens',
  'revokeGrant',
] as const satisfies readonly (keyof FaultControls)[];

/** What the emulator does when a control needs to act on open streams or tokens right away. */
export interface FaultEffects {
  closeSignalToAll(durationMs: number): void;
  acksResumed(): void;
  expireTokens(): void;
}

export interface StatusFault {
  code: number;
  message: string;
}

function statusCode(code: unknown): number {
  if (!Number.isInteger(code) || (code as number) < 1 || (code as number) > 16) {
    throw new TypeError(`a gRPC status code is an integer 1-16, got ${String(code)}`);
  }
  return code as number;
}

function nonNegative(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new TypeError(`${what} must be a number >= 0, got ${String(n)}`);
  return n;
}

/** The fault state read by the sessions and the token endpoint. */
export class FaultState implements FaultControls {
  dropAfterRecords: number | null = null;
  refuse: (StatusFault & { times: number }) | null = null;
  nextIngest: StatusFault | null = null;
  withholding = false;
  ackDelay = 0;
  tokenStatus: number | null = null;
  readonly revoked = new Set<string>();

  constructor(private readonly effects: FaultEffects) {}

  reset(): void {
    const wasWithholding = this.withholding;
    this.dropAfterRecords = null;
    this.refuse = null;
    this.nextIngest = null;
    this.withholding = false;
    this.ackDelay = 0;
    this.tokenStatus = null;
    this.revoked.clear();
    if (wasWithholding) this.effects.acksResumed();
  }

  dropConnectionAfterRecords(n: number): void {
    this.dropAfterRecords = Math.floor(nonNegative(n, 'n'));
  }

  refuseCreate(code: number, times = 1, message?: string): void {
    this.refuse = { code: statusCode(code), times: Math.max(1, Math.floor(nonNegative(times, 'times'))), message: message ?? 'stream creation refused (emulator fault)' };
  }

  failNextIngest(code: number, message?: string): void {
    this.nextIngest = { code: statusCode(code), message: message ?? 'ingest failed (emulator fault)' };
  }

  sendCloseSignal(durationMs: number): void {
    this.effects.closeSignalToAll(nonNegative(durationMs, 'durationMs'));
  }

  withholdAcks(on: boolean): void {
    const was = this.withholding;
    this.withholding = !!on;
    if (was && !this.withholding) this.effects.acksResumed();
  }

  ackDelayMs(ms: number): void {
    this.ackDelay = nonNegative(ms, 'ms');
  }

  tokenEndpointStatus(status: number | null): void {
    if (status !== null && (!Number.isInteger(status) || status < 100 || status > 599)) {
      throw new TypeError(`an HTTP status is an integer 100-599 or null, got ${String(status)}`);
    }
    this.tokenStatus = status;
  }

  expireTokens(): void {
    this.effects.expireTokens();
  }

  revokeGrant(table: string, on: boolean): void {
    if (typeof table !== 'string' || !table) throw new TypeError('revokeGrant needs a table name');
    if (on) this.revoked.add(table.toLowerCase());
    else this.revoked.delete(table.toLowerCase());
  }

  /** Consumes one refused create, if any. */
  takeRefusal(): StatusFault | null {
    if (!this.refuse) return null;
    const { code, message } = this.refuse;
    if (--this.refuse.times <= 0) this.refuse = null;
    return { code, message };
  }

  takeIngestFailure(): StatusFault | null {
    const f = this.nextIngest;
    this.nextIngest = null;
    return f;
  }

  /** Counts arriving records; true when this request crosses the drop threshold. */
  recordsArrived(n: number): boolean {
    if (this.dropAfterRecords === null) return false;
    if (n >= this.dropAfterRecords) {
      this.dropAfterRecords = null;
      return true;
    }
    this.dropAfterRecords -= n;
    return false;
  }
}
