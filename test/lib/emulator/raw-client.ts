import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { PACKAGE_ROOT } from '../../../lib/paths';
import { descriptorForTable, parseCreateTables, type TableSchema } from '../../../lib/schema';
import { decodeResponse, encodeRequest, EPHEMERAL_STREAM_PATH, toNumber, zerobusServiceDefinition, type StreamRequestMsg, type StreamResponseMsg } from '../../../lib/zerobus/protocol';

/** A bare grpc-js client of the emulator: every byte of the protocol is under the test's control. */

export const OT_TABLE = 'main.ot.tag_events';
export const OT_SQL = fs.readFileSync(path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'), 'utf8');
export const OT_SCHEMA: TableSchema = parseCreateTables(OT_SQL)[0];
export const OT_DESCRIPTOR = descriptorForTable(OT_SCHEMA, 'OtEvent');

export function otRow(i: number): Record<string, unknown> {
  return {
    event_id: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    event_time: 1_700_000_000_000_000 + i,
    tag_path: `[default]Line1/Tag${i % 10}`,
    numeric_value: i * 0.5,
    quality: 'Good',
    quality_code: 192,
    ingestion_timestamp: 1_700_000_000_100_000 + i,
  };
}

export function otProto(i: number): Buffer {
  return Buffer.from(OT_DESCRIPTOR.messageType.encode(otRow(i)).finish());
}

export function otJson(i: number): string {
  return JSON.stringify(otRow(i));
}

const ClientCtor = grpc.makeGenericClientConstructor(zerobusServiceDefinition as unknown as grpc.ServiceDefinition, 'Zerobus');


export interface Headers {
  authorization?: string | null;
  table?: string | null;
  extra?: Record<string, string>;
}

export class RawStream {
  readonly responses: StreamResponseMsg[] = [];
  readonly status: Promise<grpc.StatusObject>;
  private waiters: (() => void)[] = [];
  private ended = false;

  constructor(readonly call: grpc.ClientDuplexStream<StreamRequestMsg | Buffer, StreamResponseMsg>) {
    call.on('data', (m: StreamResponseMsg) => {
      this.responses.push(m);
      this.wake();
    });
    call.on('error', () => undefined);
    this.status = new Promise((resolve) =>
      call.on('status', (s: grpc.StatusObject) => {
        this.ended = true;
        this.wake();
        resolve(s);
      }),
    );
  }

  write(msg: StreamRequestMsg | Buffer): this {
    this.call.write(msg);
    return this;
  }

  create(opts: { table?: string; recordType?: number | null; descriptor?: Uint8Array | null } = {}): this {
    const create: Record<string, unknown> = { table_name: opts.table ?? OT_TABLE };
    const recordType = opts.recordType === undefined ? 1 : opts.recordType;
    if (recordType !== null) create.record_type = recordType;
    const descriptor = opts.descriptor === undefined ? (recordType === 2 ? null : OT_DESCRIPTOR.descriptorProto) : opts.descriptor;
    if (descriptor) create.descriptor_proto = descriptor;
    return this.write({ create_stream: create });
  }

  end(): this {
    this.call.end();
    return this;
  }

  /** Resolves when a response matching `pred` arrived (or rejects when the call ended first). */
  async waitFor(pred: (m: StreamResponseMsg) => boolean, what = 'response'): Promise<StreamResponseMsg> {
    for (;;) {
      const found = this.responses.find(pred);
      if (found) return found;
      if (this.ended) throw new Error(`call ended before ${what}: ${JSON.stringify(await this.status)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async created(): Promise<string> {
    const m = await this.waitFor((r) => r.create_stream_response != null, 'create_stream_response');
    return m.create_stream_response!.stream_id!;
  }

  async ackedUpTo(offset: number): Promise<void> {
    await this.waitFor((r) => r.ingest_record_response != null && toNumber(r.ingest_record_response.durability_ack_up_to_offset)! >= offset, `ack ${offset}`);
  }

  acks(): number[] {
    return this.responses.filter((r) => r.ingest_record_response != null).map((r) => toNumber(r.ingest_record_response!.durability_ack_up_to_offset)!);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class RawClient {
  private readonly client: grpc.Client;

  constructor(endpoint: string) {
    this.client = new ClientCtor(endpoint.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
    });
  }

  private metadata(h: Headers): grpc.Metadata {
    const md = new grpc.Metadata();
    if (h.authorization !== null) md.set('authorization', h.authorization ?? 'Bearer test-token');
    if (h.table !== null) md.set('x-databricks-zerobus-table-name', h.table ?? OT_TABLE);
    for (const [k, v] of Object.entries(h.extra ?? {})) md.set(k, v);
    return md;
  }

  open(h: Headers = {}): RawStream {
    const call = (this.client as unknown as { EphemeralStream(md: grpc.Metadata): grpc.ClientDuplexStream<StreamRequestMsg, StreamResponseMsg> }).EphemeralStream(this.metadata(h));
    return new RawStream(call as unknown as grpc.ClientDuplexStream<StreamRequestMsg | Buffer, StreamResponseMsg>);
  }

  /** A stream whose request messages are raw bytes (the test encodes them). */
  openRaw(h: Headers = {}): RawStream {
    const call = this.client.makeBidiStreamRequest(EPHEMERAL_STREAM_PATH, (b: Buffer) => b, decodeResponse, this.metadata(h));
    return new RawStream(call as unknown as grpc.ClientDuplexStream<StreamRequestMsg | Buffer, StreamResponseMsg>);
  }

  close(): void {
    this.client.close();
  }
}

export { encodeRequest };
