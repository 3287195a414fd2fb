/**
 * The Zerobus wire protocol: message types loaded from proto/zerobus_service.proto and the
 * gRPC method definition with protobufjs serializers (shared by the client and the emulator).
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import type { MethodDefinition } from '@grpc/grpc-js';
import { PROTO_DIR } from '../paths';

export const EPHEMERAL_STREAM_PATH = '/databricks.zerobus.Zerobus/EphemeralStream';

/** Wire values of the RecordType enum (not the official TS SDK's API enum). */
export const WIRE_RECORD_TYPE = { UNSPECIFIED: 0, PROTO: 1, JSON: 2 } as const;

/**
 * The most one request may hold: Zerobus refuses a received gRPC message above "10 MB" with
 * INVALID_ARGUMENT (docs/DESIGN.md §11), which the emulator enforces as 10 MiB, the lenient
 * reading.
 */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** What the sink sends stays within the strict reading of "10 MB" too (10,000,000 bytes). */
export const MAX_SENT_MESSAGE_BYTES = 10 * 1000 * 1000;

// keepCase: the field names of the .proto (snake_case) are the names used in code.
const root = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'zerobus_service.proto'), { keepCase: true });
root.resolveAll();

export const StreamRequest = root.lookupType('databricks.zerobus.EphemeralStreamRequest');
export const StreamResponse = root.lookupType('databricks.zerobus.EphemeralStreamResponse');

/** Decoded request shapes (protobufjs message objects; int64 fields may be Long or number). */
export interface CreateStreamMsg {
  table_name?: string;
  descriptor_proto?: Uint8Array;
  record_type?: number;
}
export interface StreamRequestMsg {
  create_stream?: CreateStreamMsg;
  ingest_record?: { offset_id?: number | Long; proto_encoded_record?: Uint8Array; json_record?: string };
  ingest_record_batch?: {
    offset_id?: number | Long;
    proto_encoded_batch?: { records?: Uint8Array[] };
    json_batch?: { records?: string[] };
  };
}
export interface StreamResponseMsg {
  create_stream_response?: { stream_id?: string };
  ingest_record_response?: { durability_ack_up_to_offset?: number | Long };
  close_stream_signal?: { duration?: { seconds?: number | Long; nanos?: number } };
}
type Long = protobuf.Long;

function encoder(type: protobuf.Type) {
  return (value: object): Buffer => {
    const bytes = type.encode(value as protobuf.Message).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

export const encodeRequest = encoder(StreamRequest) as (msg: StreamRequestMsg) => Buffer;
export const encodeResponse = encoder(StreamResponse) as (msg: StreamResponseMsg) => Buffer;
export const decodeRequest = (buf: Buffer): StreamRequestMsg => StreamRequest.decode(buf) as unknown as StreamRequestMsg;
export const decodeResponse = (buf: Buffer): StreamResponseMsg => StreamResponse.decode(buf) as unknown as StreamResponseMsg;

/** int64 fields arrive as Long or number depending on protobufjs' setup: always give a number. */
export function toNumber(v: number | Long | undefined | null): number | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? v : Number(v.toString());
}

export const ephemeralStreamMethod: MethodDefinition<StreamRequestMsg, StreamResponseMsg> = {
  path: EPHEMERAL_STREAM_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: encodeRequest,
  requestDeserialize: decodeRequest,
  responseSerialize: encodeResponse,
  responseDeserialize: decodeResponse,
};

export const zerobusServiceDefinition = { EphemeralStream: ephemeralStreamMethod };
