/**
 * One `EphemeralStream` call: create, ingest, acks, close — and every way it can go wrong.
 *
 * Choices docs/DESIGN.md §11 leaves open (the real server's codes are not public; all the
 * errors below are non-retryable in the official client, matching "stop and report"):
 * - Initial metadata is sent as soon as the call starts (the official client waits for it).
 * - The first request must be `create_stream`, and only once: INVALID_ARGUMENT otherwise.
 * - Create checks, in this order: refused by fault (the fault's code); `table_name` missing:
 *   INVALID_ARGUMENT; `authorization: Bearer <token>` missing, malformed, unknown (OAuth on) or
 *   expired: UNAUTHENTICATED; token scoped to another table, or grant revoked: PERMISSION_DENIED;
 *   `x-databricks-zerobus-table-name` missing or different from `table_name` (compared
 *   case-insensitively): INVALID_ARGUMENT; `record_type` explicitly UNSPECIFIED or unknown:
 *   INVALID_ARGUMENT (absent means PROTO); table unknown: NOT_FOUND; PROTO without
 *   `descriptor_proto`, or a descriptor incompatible with the table: INVALID_ARGUMENT (a JSON
 *   stream needs no descriptor and one sent anyway is ignored).
 * - `offset_id` must be present and go 0, 1, 2, … per stream (a batch is one offset):
 *   INVALID_ARGUMENT otherwise. A record of the other record type: INVALID_ARGUMENT.
 * - Every record is validated; the first that does not fit ends the stream with
 *   INVALID_ARGUMENT "record <i>: column '<c>': <why>" (i = index in the request) and nothing of
 *   that request is stored. An empty batch is accepted and acked.
 * - A request over 10 MB (MAX_MESSAGE_BYTES) or one that is not a valid protobuf message:
 *   INVALID_ARGUMENT (the gRPC receive limit sits above 10 MB so that this code, not
 *   RESOURCE_EXHAUSTED, reaches the client; far larger messages still get RESOURCE_EXHAUSTED).
 * - Acks are cumulative (`durability_ack_up_to_offset`), non-decreasing, never above the highest
 *   offset received, and sent only after the rows are durable; acks that become due in one
 *   event-loop turn are coalesced into one.
 * - Client half-close: outstanding acks are sent once durable, then the call ends OK.
 *   CANCEL is accepted at any moment; stored rows stay stored.
 * - Rotation: after `streamMaxAgeMs` (0: never) the stream gets CloseStreamSignal{duration};
 *   after that duration it acks what is durable and ends with UNAVAILABLE ("Stream timeout
 *   reached"), the way the real server forces token refresh. Requests arriving during the
 *   announced duration are still processed.
 * - Quota (quota.ts), checked after the offset and record type, before the records: a request
 *   beyond the stream's quota is held, in order, and stored (then acked) only when the quota
 *   allows it; a stream that ends with an error meanwhile stores none of the held requests (the
 *   client resends them, unacknowledged). With `overQuota: 'reject'` such a request is not
 *   stored, and the stream acks what is durable and ends with RESOURCE_EXHAUSTED (retryable).
 * - A storage failure (disk full, …) ends the stream with UNAVAILABLE: the client retries.
 */
import { randomUUID } from 'crypto';
import { Metadata, status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import { createProtoRowReader } from '../schema';
import { toNumber, WIRE_RECORD_TYPE, type CreateStreamMsg, type StreamRequestMsg, type StreamResponseMsg } from '../zerobus/protocol';
import type { FaultState, StatusFault } from './faults';
import type { Storage, TableStore } from './storage';
import { jsonEncoder, protoEncoder, type RecordsEncoder } from './record-encoders';
import type { TokenRegistry } from './tokens';
import { describeQuota, recordBytes, StreamQuota, type QuotaLimits, type ThrottleFigures } from './quota';
import type { FastIngest, RecordSpans } from './ingest-decoder';

/** A request as the server's deserializer hands it over: decoded, read in place (`fast`), or why it could not be. */
export type IncomingRequest = StreamRequestMsg & { invalid?: string; fast?: FastIngest };

export interface SessionCounters {
  streamsTotal: number;
  rejectedTotal: number;
}

export interface SessionContext {
  storage: Storage;
  tokens: TokenRegistry;
  faults: FaultState;
  oauthEnforced: boolean;
  /** 0: streams are never rotated. */
  streamMaxAgeMs: number;
  closeSignalDurationMs: number;
  /** null: no quota. */
  quota: QuotaLimits | null;
  /** The running throttle totals a stream of `table` adds to (its table's, the emulator's). */
  throttleTotals(table: string): ThrottleFigures[];
  sessions: Set<StreamSession>;
  counters: SessionCounters;
  /** The drop-connection fault fired: end every open stream. */
  dropAllStreams(): void;
  log(line: string): void;
}

type State = 'awaiting-create' | 'open' | 'draining' | 'closed';

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const PAUSE_ABOVE_PENDING = 200_000;
const RESUME_BELOW_PENDING = 50_000;

export class StreamSession {
  streamId?: string;
  tableName?: string;
  openedAt?: number;
  /** When the CloseStreamSignal went out, if it did. */
  closeSignalAt?: number;
  recordsReceived = 0;
  quota?: StreamQuota;
  private state: State = 'awaiting-create';
  private store?: TableStore;
  private encodeRecords?: RecordsEncoder;
  private recordType: number = WIRE_RECORD_TYPE.PROTO;
  private expectedOffset = 0;
  private durableOffset = -1;
  private ackedOffset = -1;
  private ackScheduled = false;
  /** the withhold and delay faults are logged once per stream, when they first hold an ack back */
  private withholdLogged = false;
  private delayLogged = 0;
  private pendingWrites = 0;
  private pendingRows = 0;
  /** Requests beyond the quota, in order, each stored when the quota allows it. */
  private readonly heldWrites: { releaseAt: number; rows: number; write: () => void; release?: () => void }[] = [];
  private heldTimer = false;
  private paused = false;
  private endWhenDrained: StatusFault | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly call: ServerDuplexStream<IncomingRequest, StreamResponseMsg>,
    private readonly ctx: SessionContext,
  ) {
    call.sendMetadata(new Metadata());
    call.on('data', (req: IncomingRequest) => this.onRequest(req));
    call.on('end', () => this.onHalfClose());
    call.on('cancelled', () => this.onCancelled());
    call.on('error', () => this.onCancelled());
    ctx.sessions.add(this);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** CloseStreamSignal now, then end with UNAVAILABLE after `durationMs`. */
  closeSignal(durationMs: number): void {
    if (this.state !== 'open') return;
    this.closeSignalAt = Date.now();
    this.ctx.log(`stream ${this.streamId} gets a close signal: it ends in ${durationMs} ms`);
    const seconds = Math.floor(durationMs / 1000);
    this.send({ close_stream_signal: { duration: { seconds, nanos: Math.round((durationMs - seconds * 1000) * 1e6) } } });
    this.after(durationMs, () =>
      this.drainThenEnd({ code: Status.UNAVAILABLE, message: `Stream timeout reached. Closing the stream (ID: ${this.streamId}).` }),
    );
  }

  /** Stop taking requests, ack what is durable, then end with `status` (OK ends cleanly). */
  drainThenEnd(status: StatusFault): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-create') return this.fail(status.code, status.message);
    this.state = 'draining';
    this.endWhenDrained = status;
    if (status.code !== Status.OK) this.dropHeldWrites();
    this.resumeInput();
    this.maybeFinish();
  }

  /** Sends acks that were held back by the withhold fault. */
  acksResumed(): void {
    this.withholdLogged = false;
    if (this.durableOffset > this.ackedOffset) this.scheduleAck();
  }

  private onRequest(req: IncomingRequest): void {
    if (this.state === 'closed' || this.state === 'draining') return;
    if (req.invalid) return this.fail(Status.INVALID_ARGUMENT, req.invalid);
    // Presence, not value: protobufjs gives absent scalar oneof members their default ('').
    const has = (o: object | null | undefined, k: string): boolean => o != null && hasOwn(o, k);
    if (this.state === 'awaiting-create') {
      if (!has(req, 'create_stream')) return this.fail(Status.INVALID_ARGUMENT, 'first message must be CreateStream');
      return this.onCreate(req.create_stream!);
    }
    if (req.fast) return this.onIngest({ offset_id: req.fast.offset }, req.fast.records, req.fast.json);
    if (has(req, 'create_stream')) return this.fail(Status.INVALID_ARGUMENT, 'CreateStream may be sent only once per stream');
    if (has(req, 'ingest_record')) {
      const r = req.ingest_record!;
      const isJson = has(r, 'json_record');
      if (!isJson && !has(r, 'proto_encoded_record')) return this.fail(Status.INVALID_ARGUMENT, 'IngestRecordRequest carries no record');
      return this.onIngest(r, [isJson ? r.json_record! : r.proto_encoded_record!], isJson);
    }
    if (has(req, 'ingest_record_batch')) {
      const b = req.ingest_record_batch!;
      if (has(b, 'json_batch')) return this.onIngest(b, b.json_batch!.records ?? [], true);
      if (has(b, 'proto_encoded_batch')) return this.onIngest(b, b.proto_encoded_batch!.records ?? [], false);
      return this.fail(Status.INVALID_ARGUMENT, 'IngestRecordBatchRequest carries no batch');
    }
    this.fail(Status.INVALID_ARGUMENT, 'request carries no payload');
  }

  private onCreate(create: CreateStreamMsg): void {
    const { ctx } = this;
    const refusal = ctx.faults.takeRefusal();
    if (refusal) return this.fail(refusal.code, refusal.message);
    const requested = create.table_name;
    if (!requested) return this.fail(Status.INVALID_ARGUMENT, 'table_name is required');
    const table = requested.toLowerCase();

    const token = /^Bearer\s+(\S+)\s*$/i.exec(this.header('authorization') ?? '')?.[1];
    if (!token) return this.fail(Status.UNAUTHENTICATED, 'missing or malformed authorization header (expected "Bearer <token>")');
    const verdict = ctx.tokens.check(token, table, ctx.oauthEnforced);
    if (!verdict.ok) return this.fail(verdict.code, verdict.message);
    if (ctx.faults.revoked.has(table)) {
      return this.fail(Status.PERMISSION_DENIED, `the principal lacks the MODIFY privilege on table ${table}`);
    }

    const headerTable = this.header('x-databricks-zerobus-table-name');
    if (!headerTable) return this.fail(Status.INVALID_ARGUMENT, 'missing x-databricks-zerobus-table-name header');
    if (headerTable.toLowerCase() !== table) {
      return this.fail(Status.INVALID_ARGUMENT, `x-databricks-zerobus-table-name header (${headerTable}) does not match table_name (${requested})`);
    }

    // Absent record_type means PROTO (older clients); an explicit UNSPECIFIED is an error.
    const recordType = hasOwn(create, 'record_type') ? create.record_type! : WIRE_RECORD_TYPE.PROTO;
    if (recordType !== WIRE_RECORD_TYPE.PROTO && recordType !== WIRE_RECORD_TYPE.JSON) {
      return this.fail(Status.INVALID_ARGUMENT, `record_type ${recordType} is not supported (use PROTO or JSON)`);
    }

    const store = ctx.storage.get(table);
    if (!store) return this.fail(Status.NOT_FOUND, `table not found: ${table}`);

    if (recordType === WIRE_RECORD_TYPE.PROTO) {
      const descriptor = create.descriptor_proto;
      if (!descriptor || descriptor.length === 0) return this.fail(Status.INVALID_ARGUMENT, 'descriptor_proto is required for PROTO streams');
      const loaded = createProtoRowReader(store.schema, descriptor);
      if (!loaded.ok) return this.fail(Status.INVALID_ARGUMENT, `descriptor_proto does not fit table ${table}: ${loaded.reason}`);
      this.encodeRecords = protoEncoder(loaded.reader);
    } else {
      this.encodeRecords = jsonEncoder(store.schema);
    }

    this.recordType = recordType;
    this.store = store;
    this.tableName = table;
    this.streamId = randomUUID();
    this.openedAt = Date.now();
    if (ctx.quota) this.quota = new StreamQuota(ctx.quota, ctx.throttleTotals(table));
    this.state = 'open';
    ctx.counters.streamsTotal++;
    this.send({ create_stream_response: { stream_id: this.streamId } });
    ctx.log(`stream ${this.streamId} opened on ${table} (${recordType === WIRE_RECORD_TYPE.JSON ? 'JSON' : 'PROTO'})`);
    if (ctx.streamMaxAgeMs > 0) this.after(ctx.streamMaxAgeMs, () => this.closeSignal(ctx.closeSignalDurationMs));
  }

  private onIngest(req: { offset_id?: unknown }, records: (string | Uint8Array)[] | RecordSpans, isJson: boolean): void {
    const { ctx } = this;
    const failure = ctx.faults.takeIngestFailure();
    if (failure) return this.fail(failure.code, failure.message);
    if (!hasOwn(req, 'offset_id')) return this.fail(Status.INVALID_ARGUMENT, 'offset_id is required');
    const offset = toNumber(req.offset_id as number);
    if (offset !== this.expectedOffset) {
      return this.fail(Status.INVALID_ARGUMENT, `offset_id ${offset} is out of order: expected ${this.expectedOffset}`);
    }
    if (isJson !== (this.recordType === WIRE_RECORD_TYPE.JSON)) {
      return this.fail(Status.INVALID_ARGUMENT, `record type does not match the stream (${this.recordType === WIRE_RECORD_TYPE.JSON ? 'JSON' : 'PROTO'})`);
    }
    let holdMs = 0;
    if (this.quota) {
      const admission = this.quota.admit(records.length, recordBytes(records));
      if (!admission.ok) return this.drainThenEnd({ code: Status.RESOURCE_EXHAUSTED, message: admission.message });
      holdMs = admission.holdMs;
      if (holdMs > 0 && this.quota.throttled.count === 1) ctx.log(`stream ${this.streamId} is over its quota (${describeQuota(this.quota.limits)}): throttled`);
    }
    let rows: { data: Buffer; count: number; release?: () => void };
    try {
      rows = this.encodeRecords!(records);
    } catch (err) {
      ctx.counters.rejectedTotal += records.length;
      return this.fail(Status.INVALID_ARGUMENT, (err as Error).message);
    }
    if (ctx.faults.recordsArrived(records.length)) {
      ctx.log(`fault: dropping every stream after ${records.length} more record(s)`);
      ctx.dropAllStreams();
      return;
    }
    this.expectedOffset++;
    this.recordsReceived += records.length;
    this.pendingWrites++;
    this.pendingRows += rows.count;
    if (!this.paused && this.pendingRows > PAUSE_ABOVE_PENDING) {
      this.paused = true;
      this.call.pause();
    }
    const write = () => this.store!.append(rows.data, rows.count, (err) => this.onDurable(offset, rows.count, err), rows.release);
    if (holdMs > 0 || this.heldWrites.length > 0) {
      this.heldWrites.push({ releaseAt: Date.now() + holdMs, rows: rows.count, write, release: rows.release });
      this.writeReleased();
    } else {
      write();
    }
  }

  /** Stores the held requests whose time has come, in order, and waits for the next one. */
  private writeReleased(): void {
    if (this.heldTimer) return;
    while (this.heldWrites.length > 0 && this.heldWrites[0].releaseAt <= Date.now()) this.heldWrites.shift()!.write();
    if (this.heldWrites.length === 0) return;
    this.heldTimer = true;
    this.after(this.heldWrites[0].releaseAt - Date.now(), () => {
      this.heldTimer = false;
      this.writeReleased();
    });
  }

  /** A stream that ends with an error never stores what the quota still holds: neither stored nor acked, the client resends it. */
  private dropHeldWrites(): void {
    for (const held of this.heldWrites.splice(0)) {
      this.pendingWrites--;
      this.pendingRows -= held.rows;
      held.release?.();
    }
  }

  private onDurable(offset: number, rows: number, err: Error | null): void {
    this.pendingWrites--;
    this.pendingRows -= rows;
    if (this.paused && this.pendingRows < RESUME_BELOW_PENDING) this.resumeInput();
    if (err) {
      this.ctx.log(`storage failed for ${this.tableName}: ${err.message}`);
      return this.fail(Status.UNAVAILABLE, 'the emulator could not store the records; retry');
    }
    if (this.state === 'closed') return;
    if (offset > this.durableOffset) this.durableOffset = offset;
    const delay = this.ctx.faults.ackDelay;
    if (delay > 0) {
      if (delay !== this.delayLogged) {
        this.delayLogged = delay;
        this.ctx.log(`stream ${this.streamId} delays its ack of offset ${offset} by ${delay} ms (fault)`);
      }
      this.after(delay, () => this.scheduleAck(offset));
    } else {
      this.scheduleAck();
    }
  }

  /** Coalesces acks: one per event-loop turn, for everything durable (or up to `upTo`). */
  private ackable = -1;
  private scheduleAck(upTo = this.durableOffset): void {
    if (upTo > this.ackable) this.ackable = Math.min(upTo, this.durableOffset);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      this.flushAck();
      this.maybeFinish();
    });
  }

  private flushAck(): void {
    if (this.state === 'closed') return;
    if (this.ctx.faults.withholding) {
      // logged where the ack would have gone out, once per withholding period
      if (!this.withholdLogged && this.durableOffset > this.ackedOffset) {
        this.withholdLogged = true;
        this.ctx.log(`stream ${this.streamId} withholds its ack up to offset ${this.durableOffset} (fault)`);
      }
      return;
    }
    if (this.ctx.faults.ackDelay === 0) this.ackable = this.durableOffset;
    if (this.ackable > this.ackedOffset) {
      this.ackedOffset = this.ackable;
      this.send({ ingest_record_response: { durability_ack_up_to_offset: this.ackedOffset } });
    }
  }

  private onHalfClose(): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-create') {
      this.close();
      this.call.end();
      return;
    }
    if (this.state === 'open') this.drainThenEnd({ code: Status.OK, message: 'OK' });
  }

  /** Ends a draining stream once its writes are durable and acked. */
  private maybeFinish(): void {
    if (this.state !== 'draining' || this.pendingWrites > 0 || this.ackScheduled) return;
    if (this.ctx.faults.withholding && this.durableOffset > this.ackedOffset) {
      // Acks are held back: end without them (the client will resend, as after a real outage).
    } else {
      this.ackable = this.durableOffset;
      this.flushAck();
    }
    const status = this.endWhenDrained ?? { code: Status.OK, message: 'OK' };
    if (status.code === Status.OK) {
      this.close('closed by the client, everything acknowledged');
      this.call.end();
    } else {
      this.fail(status.code, status.message);
    }
  }

  private onCancelled(): void {
    this.close('cancelled by the client');
  }

  private fail(code: number, message: string): void {
    if (this.state === 'closed') return;
    if (code !== Status.OK) this.ctx.log(`stream ${this.streamId ?? '(not created)'} ends: ${Status[code]} ${message}`);
    this.close();
    this.call.emit('error', { code, details: message, metadata: new Metadata() });
  }

  /** `how`, when given, is logged for a created stream, as its opening was. */
  private close(how?: string): void {
    if (how && this.streamId && this.state !== 'closed') this.ctx.log(`stream ${this.streamId} ${how}`);
    this.state = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropHeldWrites();
    this.resumeInput();
    this.ctx.sessions.delete(this);
  }

  private resumeInput(): void {
    if (!this.paused) return;
    this.paused = false;
    this.call.resume();
  }

  private send(msg: StreamResponseMsg): void {
    if (this.call.writable && !this.call.cancelled) this.call.write(msg);
  }

  private header(name: string): string | undefined {
    const v = this.call.metadata.get(name)[0];
    return typeof v === 'string' ? v : v?.toString('utf8');
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
