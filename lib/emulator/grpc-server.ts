import * as grpc from '@grpc/grpc-js';
import { decodeRequest, ephemeralStreamMethod, MAX_MESSAGE_BYTES, type StreamResponseMsg } from '../zerobus/protocol';
import type { IncomingRequest } from './session';
import { decodeIngestFast } from './ingest-decoder';

/**
 * The gRPC side: one `EphemeralStream` handler on a plaintext (h2c) port, as local endpoints
 * `http://127.0.0.1:<port>` are reached by the official SDK and our client.
 */

/** Above MAX_MESSAGE_BYTES so that oversize requests reach the session and get INVALID_ARGUMENT. */
export const RECEIVE_LIMIT_BYTES = MAX_MESSAGE_BYTES + 6 * 1024 * 1024;

/**
 * HTTP/2 flow-control window the server grants. Node's default (64 KiB per stream and per
 * connection) makes a client wait a WINDOW_UPDATE round trip for every batch of a few hundred
 * rows; a large window lets it stream at full speed, as a real server allows.
 */
const FLOW_CONTROL_WINDOW = 32 * 1024 * 1024;

/**
 * grpc-js has no server option for the flow-control window: set the HTTP/2 settings it passes to
 * `http2.createServer`, and widen each session's connection window as it starts. Both are
 * internals of grpc-js; when they are missing the server still works with Node's defaults.
 */
function widenFlowControl(server: grpc.Server): void {
  const internals = server as unknown as { commonServerOptions?: { settings?: Record<string, unknown> } };
  if (internals.commonServerOptions) {
    internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: FLOW_CONTROL_WINDOW };
  }
}

function widenSessionWindows(server: grpc.Server): void {
  const internals = server as unknown as { http2Servers?: Map<import('http2').Http2Server, unknown> };
  for (const h2 of internals.http2Servers?.keys() ?? []) {
    h2.on('session', (session: import('http2').ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW);
      } catch {
        // an old Node or a session already closing: keep the default window
      }
    });
  }
}

/** Decoding never throws into grpc-js: garbage and oversize requests become a reason to reject. */
function safeDeserialize(buf: Buffer): IncomingRequest {
  if (buf.length > MAX_MESSAGE_BYTES) {
    return { invalid: `request of ${buf.length} bytes exceeds the maximum message size of ${MAX_MESSAGE_BYTES} bytes` };
  }
  const fast = decodeIngestFast(buf);
  if (fast) return { fast };
  try {
    return decodeRequest(buf);
  } catch (err) {
    return { invalid: `request is not a valid EphemeralStreamRequest: ${(err as Error).message}` };
  }
}

const serviceDefinition = {
  EphemeralStream: { ...ephemeralStreamMethod, requestDeserialize: safeDeserialize },
} as unknown as grpc.ServiceDefinition;

export async function startGrpcServer(
  host: string,
  port: number,
  onCall: (call: grpc.ServerDuplexStream<IncomingRequest, StreamResponseMsg>) => void,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': RECEIVE_LIMIT_BYTES,
    'grpc.max_send_message_length': -1,
    // Real access tokens are several kB; grpc-js' default metadata limit is 8 KiB.
    'grpc.max_metadata_size': 256 * 1024,
  });
  widenFlowControl(server);
  server.addService(serviceDefinition, { EphemeralStream: onCall } as unknown as grpc.UntypedServiceImplementation);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  widenSessionWindows(server);
  return { server, port: bound };
}

/** Graceful shutdown, forced after `graceMs`. */
export function stopGrpcServer(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
