/**
 * ZerobusClient: one workspace + endpoint + credentials, one HTTP/2 channel shared by all the
 * streams it creates, one token cache shared by them too.
 */
import { PACKAGE_VERSION } from '../paths';
import { FixedTokenProvider, OAuthTokenProvider, type TokenProvider } from './auth';
import { ZerobusChannel } from './channel';
import { parseEndpoint, parseTableName, type ZerobusEndpoint } from './endpoint';
import { configError, ZerobusError } from './errors';
import { ZerobusStream } from './stream';
import type { StreamOptions, ZerobusClientOptions } from './types';

export const DEFAULT_USER_AGENT = `node-red-zerobus/${PACKAGE_VERSION}`;

export class ZerobusClient {
  readonly endpoint: ZerobusEndpoint;
  private readonly tokens: TokenProvider;
  private channel?: ZerobusChannel;
  private readonly streams = new Set<ZerobusStream>();
  private closed = false;
  private readonly userAgent: string;

  constructor(private readonly opts: ZerobusClientOptions) {
    this.endpoint = parseEndpoint(opts.endpoint);
    const auth = opts.auth;
    if (!auth || (auth.type !== 'oauth' && auth.type !== 'token')) throw configError('auth must be { type: "oauth", … } or { type: "token", … }');
    this.tokens =
      auth.type === 'oauth'
        ? new OAuthTokenProvider({
            workspaceUrl: opts.workspaceUrl ?? '',
            clientId: auth.clientId,
            clientSecret: auth.clientSecret,
            workspaceId: this.endpoint.workspaceId,
            ...(opts.tokenTimeoutMs !== undefined ? { timeoutMs: opts.tokenTimeoutMs } : {}),
            ...(opts.env ? { env: opts.env } : {}),
          })
        : new FixedTokenProvider(auth.token);
    this.userAgent = opts.userAgent ? `${opts.userAgent} ${DEFAULT_USER_AGENT}` : DEFAULT_USER_AGENT;
  }

  private getChannel(): ZerobusChannel {
    if (this.closed) throw new ZerobusError('CLOSED', 'the Zerobus client is closed', { retryable: false });
    this.channel ??= new ZerobusChannel(this.endpoint, {
      userAgent: this.userAgent,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(this.opts.channelOptions ? { channelOptions: this.opts.channelOptions } : {}),
    });
    return this.channel;
  }

  createStream(opts: StreamOptions): ZerobusStream {
    const stream = new ZerobusStream(
      {
        channel: this.getChannel(),
        tokens: this.tokens,
        userAgent: this.userAgent,
        errorContext: { endpoint: this.endpoint.display, workspaceId: this.endpoint.workspaceId, fixedToken: !this.tokens.refreshable },
      },
      opts,
    );
    this.streams.add(stream);
    stream.on('state', (s: string) => {
      if (s === 'closed') this.streams.delete(stream);
    });
    return stream;
  }

  /**
   * Fetch a token, open a stream, complete the create round trip and close it again. Rejects
   * with the first error, retryable or not (a test should report, not wait for recovery).
   */
  async testConnection(table: string, opts: { recordType?: 'proto' | 'json'; descriptorProto?: Buffer; timeoutMs?: number } = {}): Promise<void> {
    parseTableName(table);
    const recordType = opts.recordType ?? (opts.descriptorProto ? 'proto' : 'json');
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const stream = this.createStream({
      table,
      recordType,
      ...(opts.descriptorProto ? { descriptorProto: opts.descriptorProto } : {}),
      createTimeoutMs: timeoutMs,
      backoff: { initialMs: 60_000 },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new ZerobusError('DEADLINE_EXCEEDED', `no stream within ${timeoutMs} ms`, { hint: 'The endpoint did not answer in time: check the endpoint, network and proxy.' })),
          timeoutMs,
        );
        stream.on('error', () => undefined); // reported through the state below
        stream.on('state', (state: string, detail: { error?: ZerobusError; retryInMs?: number }) => {
          if (state === 'open') {
            clearTimeout(timer);
            resolve();
          } else if (state === 'reconnecting' && detail.retryInMs === 0) {
            // an immediate retry with a fresh token after UNAUTHENTICATED: its outcome is the answer
          } else if ((state === 'reconnecting' || state === 'failed') && detail.error) {
            clearTimeout(timer);
            reject(detail.error);
          }
        });
      });
    } finally {
      await stream.close(1000);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.streams].map((s) => s.close(2000).catch(() => undefined)));
    this.channel?.close();
  }
}
