/**
 * A scriptable Zerobus server for protocol-level client tests (misbehaviour the real emulator
 * never shows: acks going backwards, acks beyond what was sent, wrong first response).
 */
import * as grpc from '@grpc/grpc-js';
import { toNumber, zerobusServiceDefinition, type StreamRequestMsg, type StreamResponseMsg } from '../../../lib/zerobus/protocol';

export type FakeCall = grpc.ServerDuplexStream<StreamRequestMsg, StreamResponseMsg>;

export interface Received { call: number; offset: number; records: string[] }

export interface FakeServer {
  endpoint: string;
  received: Received[];
  metadata: grpc.Metadata[];
  creates: StreamRequestMsg['create_stream'][];
  stop(): Promise<void>;
}

/** Records of one request as strings (JSON text or proto bytes as hex). */
export function recordsOf(req: StreamRequestMsg): string[] {
  const one = req.ingest_record;
  if (one) return [one.json_record != null ? one.json_record : Buffer.from(one.proto_encoded_record!).toString('hex')];
  const b = req.ingest_record_batch!;
  if (b.json_batch) return b.json_batch.records ?? [];
  return (b.proto_encoded_batch?.records ?? []).map((r) => Buffer.from(r).toString('hex'));
}

export interface Script {
  /** Called for each ingest request; return the ack to send (undefined: none). */
  onIngest?(ctx: { callIndex: number; offset: number; call: FakeCall }): number | undefined | void;
  /** Replace the create response (e.g. to send something else first). */
  onCreate?(ctx: { callIndex: number; call: FakeCall }): boolean | void;
}

/** `tls`: serve TLS with this certificate (PEM) instead of plaintext. */
export async function startFakeServer(script: Script = {}, opts: { tls?: { cert: Buffer; key: Buffer } } = {}): Promise<FakeServer> {
  const server = new grpc.Server();
  const received: Received[] = [];
  const metadata: grpc.Metadata[] = [];
  const creates: StreamRequestMsg['create_stream'][] = [];
  const calls = new Set<FakeCall>();
  let callCount = 0;
  server.addService(zerobusServiceDefinition as unknown as grpc.ServiceDefinition, {
    EphemeralStream: (call: FakeCall) => {
      const callIndex = callCount++;
      calls.add(call);
      metadata.push(call.metadata);
      call.sendMetadata(new grpc.Metadata());
      call.on('error', () => undefined);
      call.on('close', () => calls.delete(call));
      call.on('data', (req: StreamRequestMsg) => {
        if (req.create_stream != null) {
          creates.push(req.create_stream);
          if (script.onCreate?.({ callIndex, call }) === true) return;
          call.write({ create_stream_response: { stream_id: `fake-${callIndex}` } });
          return;
        }
        const offset = toNumber((req.ingest_record ?? req.ingest_record_batch)!.offset_id) ?? -1;
        received.push({ call: callIndex, offset, records: recordsOf(req) });
        const ack = script.onIngest ? script.onIngest({ callIndex, offset, call }) : offset;
        if (typeof ack === 'number') call.write({ ingest_record_response: { durability_ack_up_to_offset: ack } });
      });
      call.on('end', () => call.end());
    },
  });
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    metadata,
    creates,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of calls) c.destroy?.();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 200);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
