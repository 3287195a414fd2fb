/**
 * The one error type of the Zerobus client and the ONE place that decides which failures are
 * retryable (docs/DESIGN.md §11.4). Every other module asks `isRetryable` or builds its
 * errors here, so the classification cannot drift between the stream, the token provider and
 * the connection test.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

/** gRPC codes the server uses for requests that will never succeed when repeated. */
const FINAL_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.UNAUTHENTICATED,
]);

/** Client-side codes (not gRPC statuses) and whether they are worth retrying. */
const LOCAL_CODES: Readonly<Record<string, boolean>> = {
  TOKEN_UNAVAILABLE: true, // token endpoint 5xx/429, timeout, network
  TOKEN_REJECTED: false, // token endpoint 4xx: credentials or grants are wrong
  TLS: true, // may be a transient middlebox problem; reported precisely anyway
  UNREACHABLE: true,
  PROTOCOL: true, // the server broke the protocol on this stream: a new stream may be fine
  ACK_TIMEOUT: true,
  CLOSED: false,
  CONFIG: false,
  FLUSH_TIMEOUT: true,
};

const GRPC_CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(GrpcStatus)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** Node system error codes of failed connections: the network may come back. */
const TRANSIENT_NET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET',
]);

export interface ZerobusErrorInit {
  grpcCode?: number;
  retryable?: boolean;
  hint?: string;
  cause?: unknown;
}

export class ZerobusError extends Error {
  readonly code: string;
  readonly grpcCode?: number;
  readonly retryable: boolean;
  readonly hint: string;

  constructor(code: string, message: string, init: ZerobusErrorInit = {}) {
    super(message);
    this.name = 'ZerobusError';
    this.code = code;
    if (init.grpcCode !== undefined) this.grpcCode = init.grpcCode;
    this.retryable = init.retryable ?? defaultRetryable(code, init.grpcCode);
    this.hint = init.hint ?? defaultHint(code);
    if (init.cause !== undefined) Object.defineProperty(this, 'cause', { value: init.cause, enumerable: false });
  }
}

function defaultRetryable(code: string, grpcCode?: number): boolean {
  if (code in LOCAL_CODES) return LOCAL_CODES[code];
  if (grpcCode !== undefined) return !FINAL_GRPC_CODES.has(grpcCode);
  return false;
}

/** Is a failure worth another attempt? ZerobusErrors carry the answer; gRPC statuses and
 * Node network errors are classified by the table of docs/DESIGN.md §11.4; anything else (a bug) is not. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ZerobusError) return err.retryable;
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number' && GRPC_CODE_NAMES[code] !== undefined) return !FINAL_GRPC_CODES.has(code);
    if (typeof code === 'string') return TRANSIENT_NET_CODES.has(code) || LOCAL_CODES[code] === true;
  }
  return false;
}

export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `CODE_${code}`;
}

/** What the failing request was about, to make hints concrete. */
export interface ErrorContext {
  table?: string;
  endpoint?: string;
  workspaceId?: string;
  /** true when the token was a fixed bearer token (cannot be refreshed). */
  fixedToken?: boolean;
}

const TLS_PATTERN = /\b(ssl|tls|certificate|cert_|self[- ]signed|wrong version number|handshake|alpn)\b/i;
const UNREACHABLE_PATTERN =
  /(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|No connection established|Name resolution failed|getaddrinfo|Failed to connect|connect ECONN)/i;

/** Turn a gRPC call status (code + details) into a ZerobusError with a hint a user can act on. */
export function fromGrpcStatus(s: { code: number; details?: string }, ctx: ErrorContext = {}): ZerobusError {
  const details = (s.details ?? '').trim();
  const name = grpcCodeName(s.code);
  const table = ctx.table ? `table ${ctx.table}` : 'the table';
  if (s.code === GrpcStatus.UNAVAILABLE || s.code === GrpcStatus.INTERNAL || s.code === GrpcStatus.UNKNOWN) {
    if (TLS_PATTERN.test(details)) {
      return new ZerobusError('TLS', `TLS connection to ${ctx.endpoint ?? 'the Zerobus endpoint'} failed: ${details}`, {
        grpcCode: s.code,
        hint: 'The secure connection could not be established. Check that the endpoint is the Zerobus host of your workspace, ' +
          'that a proxy or firewall is not intercepting TLS, and that the system trust store holds the CA (NODE_EXTRA_CA_CERTS). ' +
          'Use an explicit http:// endpoint only for a local emulator.',
      });
    }
    if (s.code === GrpcStatus.UNAVAILABLE && UNREACHABLE_PATTERN.test(details)) {
      return new ZerobusError('UNREACHABLE', `cannot reach ${ctx.endpoint ?? 'the Zerobus endpoint'}: ${details}`, {
        grpcCode: s.code,
        hint: 'The Zerobus endpoint is unreachable. Check the host name and port, DNS, the network path and the proxy settings ' +
          '(HTTPS_PROXY/NO_PROXY). The client keeps retrying.',
      });
    }
  }
  const message = `${name}${details ? `: ${details}` : ''}`;
  switch (s.code) {
    case GrpcStatus.UNAUTHENTICATED:
      return new ZerobusError(name, message, {
        grpcCode: s.code,
        hint: ctx.fixedToken
          ? 'The server rejected the bearer token: it is expired, revoked or not valid for this workspace. Provide a new token.'
          : `The server rejected the access token even after a fresh one was fetched. Check that the workspace URL and the endpoint ` +
            `belong to the same workspace${ctx.workspaceId ? ` (workspace id ${ctx.workspaceId}, taken from the endpoint's first label)` : ''}.`,
      });
    case GrpcStatus.PERMISSION_DENIED:
      return new ZerobusError(name, message, {
        grpcCode: s.code,
        hint: `The service principal may not write to ${table}. Grant it USE CATALOG on the catalog, USE SCHEMA on the schema, ` +
          'and SELECT and MODIFY on the table itself.',
      });
    case GrpcStatus.NOT_FOUND:
      return new ZerobusError(name, message, {
        grpcCode: s.code,
        hint: `${ctx.table ? `Table ${ctx.table}` : 'The table'} does not exist or is not visible to the service principal. ` +
          'Check the catalog.schema.table name, create the table (Zerobus never creates it) and check the grants.',
      });
    case GrpcStatus.INVALID_ARGUMENT:
      return new ZerobusError(name, message, {
        grpcCode: s.code,
        hint: `The server refused the request for ${table}: the records or the protobuf descriptor do not match the table schema, ` +
          'or the request is malformed. Compare the record fields with the table columns.',
      });
    case GrpcStatus.UNIMPLEMENTED:
      return new ZerobusError(name, message, {
        grpcCode: s.code,
        hint: 'The server does not speak the Zerobus protocol: check that the endpoint is the Zerobus endpoint, not the workspace URL.',
      });
    default:
      return new ZerobusError(name, message, { grpcCode: s.code });
  }
}

function defaultHint(code: string): string {
  switch (code) {
    case 'UNAVAILABLE':
      return 'Zerobus is temporarily unavailable; the client reconnects by itself.';
    case 'DEADLINE_EXCEEDED':
      return 'The server did not answer in time; the client retries.';
    case 'RESOURCE_EXHAUSTED':
      return 'The server is throttling this stream; the client backs off and retries.';
    case 'CLOSED':
      return 'The stream was closed before these records were acknowledged; they were not confirmed as written.';
    case 'CONFIG':
      return 'Fix the connection settings.';
    case 'ACK_TIMEOUT':
      return 'The server stopped acknowledging records; the client opens a new stream and resends them.';
    case 'PROTOCOL':
      return 'The server sent an unexpected message; the client opens a new stream and resends unacknowledged records.';
    case 'TOKEN_UNAVAILABLE':
      return 'The workspace token endpoint is not answering; the client retries.';
    case 'FLUSH_TIMEOUT':
      return 'Not every record was acknowledged in time; the stream keeps trying.';
    default:
      return 'The client retries if the failure is transient.';
  }
}

export function configError(message: string, hint?: string): ZerobusError {
  return new ZerobusError('CONFIG', message, { retryable: false, hint: hint ?? 'Fix the connection settings.' });
}

export function closedError(what = 'stream closed before the records were acknowledged'): ZerobusError {
  return new ZerobusError('CLOSED', what, { retryable: false });
}
