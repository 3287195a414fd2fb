/** Public API of the pure-JS Zerobus client (see docs/DESIGN.md §2.1). */
export { ZerobusClient, DEFAULT_USER_AGENT } from './client';
export { ZerobusStream } from './stream';
export { ZerobusError, isRetryable, fromGrpcStatus } from './errors';
export { descriptorProtoFromType } from './descriptor';
export { parseEndpoint, parseWorkspaceUrl, parseTableName, type ZerobusEndpoint, type TableName } from './endpoint';
export { OAuthTokenProvider, FixedTokenProvider, type TokenProvider } from './auth';
export type { ZerobusAuth, ZerobusClientOptions, StreamOptions, StreamState, StreamMetrics, FinalErrorPolicy } from './types';
export { STREAM_DEFAULTS } from './types';
export type { BackoffOptions } from './backoff';
