/**
 * The HTTP/2 channel of one ZerobusClient, shared by all its streams (as the official SDK).
 * Requests travel as pre-encoded Buffers (the landing zone encodes each request once), so the
 * request serializer is the identity.
 */
import * as grpc from '@grpc/grpc-js';
import { EPHEMERAL_STREAM_PATH, decodeResponse, type StreamResponseMsg } from './protocol';
import type { ZerobusEndpoint } from './endpoint';
import { grpcProxyFor } from './proxy';
import { tlsCredentials } from './tls';

export type ResponseCall = grpc.ClientDuplexStream<Buffer, StreamResponseMsg>;

export interface ChannelOptions {
  /** Sent as the user-agent (grpc-js appends its own name). */
  userAgent?: string;
  /** Extra grpc-js channel options (tests shorten reconnect backoff with these). */
  channelOptions?: grpc.ChannelOptions;
  env?: Record<string, string | undefined>;
}

const identity = (b: Buffer): Buffer => b;

export class ZerobusChannel {
  private readonly client: grpc.Client;

  constructor(readonly endpoint: ZerobusEndpoint, opts: ChannelOptions = {}) {
    const options: grpc.ChannelOptions = {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 0,
      // Reconnect promptly once the server is back: our stream supervisor does its own backoff.
      'grpc.initial_reconnect_backoff_ms': 250,
      // the readiness probe (isReady) sees a returning server at most this late: well inside the
      // 5 s to resume after an outage; one TCP connect attempt per 2 s while it is down
      'grpc.max_reconnect_backoff_ms': 2_000,
      // grpc-js reads only lowercase proxy variables and matches NO_PROXY by bare suffix; the
      // official SDK's rules (proxy.ts) decide instead.
      'grpc.enable_http_proxy': 0,
      'grpc.default_authority': endpoint.target,
      ...(opts.userAgent ? { 'grpc.primary_user_agent': opts.userAgent } : {}),
      ...opts.channelOptions,
    };
    let target = endpoint.target;
    const proxy = grpcProxyFor(endpoint.host, opts.env ?? process.env);
    if (proxy) {
      // Always an HTTP CONNECT tunnel; TLS (if any) runs end to end through it.
      options['grpc.http_connect_target'] = `dns:${endpoint.target}`;
      if (proxy.credentials) options['grpc.http_connect_creds'] = proxy.credentials;
      target = `${proxy.url.hostname.includes(':') ? `[${proxy.url.hostname}]` : proxy.url.hostname}:${proxy.url.port || (proxy.url.protocol === 'https:' ? 443 : 80)}`;
    }
    const creds = endpoint.secure ? tlsCredentials(endpoint.host, opts.env) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(`dns:${target}`, creds, options);
  }

  openStream(metadata: grpc.Metadata): ResponseCall {
    return this.client.makeBidiStreamRequest(EPHEMERAL_STREAM_PATH, identity, decodeResponse, metadata, {});
  }

  /**
   * A cheap readiness probe: true when the HTTP/2 connection is up; otherwise asks grpc-js to
   * (re)connect in the background, at its own reconnect backoff. No stream, no token.
   */
  isReady(): boolean {
    return this.client.getChannel().getConnectivityState(true) === grpc.connectivityState.READY;
  }

  close(): void {
    this.client.close();
  }
}
