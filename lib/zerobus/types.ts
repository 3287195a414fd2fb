/** Public option and state types of the Zerobus client (interfaces contract, lib/zerobus). */
import type { ChannelOptions } from '@grpc/grpc-js';
import type { BackoffOptions } from './backoff';
import type { LatencySummary } from './metrics';
import type { ZerobusError } from './errors';

export type ZerobusAuth = { type: 'oauth'; clientId: string; clientSecret: string } | { type: 'token'; token: string };

export interface ZerobusClientOptions {
  endpoint: string;
  workspaceUrl?: string;
  auth: ZerobusAuth;
  userAgent?: string;
  /** Per token request (default 15 s). */
  tokenTimeoutMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Environment for proxy settings (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface StreamOptions {
  table: string;
  recordType: 'proto' | 'json';
  descriptorProto?: Buffer;
  maxInflightRecords?: number;
  maxInflightBytes?: number;
  maxRequestBytes?: number;
  backoff?: BackoffOptions;
  ackTimeoutMs?: number;
  createTimeoutMs?: number;
  /** How long close() waits for the server's final status after half-closing (default 500 ms). */
  closeGraceMs?: number;
  /** Upper bound of the pause after a CloseStreamSignal (default: the signalled duration). */
  closeSignalMaxWaitMs?: number;
  /**
   * What follows a final error (default: the stream fails). The ZerobusSink retries slowly and
   * isolates refused records from its spool: it names the delay before the next attempt and
   * whether the requests still unacknowledged are dropped (rejected with the error) first.
   */
  finalErrors?: FinalErrorPolicy;
}

export type FinalErrorPolicy = (error: ZerobusError, attempt: { wasOpen: boolean }) => { retryInMs: number; discard: boolean } | undefined;

export type StreamState = 'idle' | 'connecting' | 'open' | 'paused' | 'reconnecting' | 'failed' | 'closed';

export interface StreamMetrics {
  recordsSent: number;
  recordsAcked: number;
  recordsInFlight: number;
  bytesInFlight: number;
  requestsSent: number;
  reconnects: number;
  ackLatencyMs: LatencySummary;
  lastError?: { code: string; message: string; at: number };
  streamId?: string;
  state: StreamState;
}

export const STREAM_DEFAULTS = {
  maxInflightRecords: 50_000,
  maxInflightBytes: 64 * 1024 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  ackTimeoutMs: 60_000,
  createTimeoutMs: 15_000,
  closeGraceMs: 500,
  flushTimeoutMs: 300_000,
} as const;
