import { randomBytes, timingSafeEqual } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { status as Status } from '@grpc/grpc-js';

/**
 * The OAuth M2M token endpoint (`POST /oidc/v1/token`, docs/DESIGN.md §11.5) and the registry of the
 * tokens it issued. A token is scoped to the one table named in the TABLE entry of
 * `authorization_details`, lives one hour, and is opaque random text of real-token size
 * (multi-kB, so clients and servers that choke on big metadata fail here as they would there).
 *
 * With client credentials configured the endpoint checks them (401 otherwise) and streams must
 * present a token it issued; without, it answers any Basic credentials and streams accept any
 * non-empty bearer token (tokens it did issue are still checked for expiry and table).
 */

export const TOKEN_LIFETIME_SECONDS = 3600;
const MAX_FORM_BYTES = 64 * 1024;
const RESOURCE = /^api:\/\/databricks\/workspaces\/([^/\s]+)\/zerobusDirectWriteApi$/;

interface IssuedToken {
  table: string;
  expiresAt: number;
  expired: boolean;
}

export type TokenCheck = { ok: true } | { ok: false; code: number; message: string };

export class TokenRegistry {
  private readonly tokens = new Map<string, IssuedToken>();
  issuedTotal = 0;

  constructor(private readonly now: () => number = Date.now) {}

  issue(table: string): string {
    this.dropExpired();
    const token = 'dzbemu.' + randomBytes(1200).toString('base64url');
    this.tokens.set(token, { table, expiresAt: this.now() + TOKEN_LIFETIME_SECONDS * 1000, expired: false });
    this.issuedTotal++;
    return token;
  }

  expireAll(): void {
    for (const t of this.tokens.values()) t.expired = true;
  }

  /** Is `token` good for writing `table`? `enforce`: only tokens issued here count. */
  check(token: string, table: string, enforce: boolean): TokenCheck {
    const issued = this.tokens.get(token);
    if (!issued) {
      return enforce ? { ok: false, code: Status.UNAUTHENTICATED, message: 'invalid access token: not issued by this workspace' } : { ok: true };
    }
    if (issued.expired || this.now() >= issued.expiresAt) {
      return { ok: false, code: Status.UNAUTHENTICATED, message: 'access token expired; fetch a new one' };
    }
    if (issued.table !== table) {
      return { ok: false, code: Status.PERMISSION_DENIED, message: `access token is scoped to table ${issued.table}, not ${table}` };
    }
    return { ok: true };
  }

  private dropExpired(): void {
    const now = this.now();
    // Expired-by-fault tokens stay known so that they answer UNAUTHENTICATED, not "not issued".
    for (const [token, t] of this.tokens) if (now >= t.expiresAt + 60_000) this.tokens.delete(token);
  }
}

export interface TokenEndpointOptions {
  registry: TokenRegistry;
  clientId?: string;
  clientSecret?: string;
  /** An HTTP status forced by a fault, or null. */
  forcedStatus: () => number | null;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  const headers = status === 401 ? { 'www-authenticate': 'Basic realm="zerobus-emulator"' } : {};
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, status, { error, error_description: description });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { id: text.slice(0, colon), secret: text.slice(colon + 1) };
}

/** The table named by the TABLE entry of authorization_details, or a reason it is unusable. */
function tableFromDetails(text: string | null): { table: string } | { error: string } {
  if (!text) return { error: 'authorization_details is required' };
  let details: unknown;
  try {
    details = JSON.parse(text);
  } catch {
    return { error: 'authorization_details is not JSON' };
  }
  if (!Array.isArray(details)) return { error: 'authorization_details must be a JSON array' };
  const entry = details.find((d) => d && typeof d === 'object' && (d as Record<string, unknown>).object_type === 'TABLE') as Record<string, unknown> | undefined;
  if (!entry) return { error: 'authorization_details has no TABLE entry' };
  const table = entry.object_full_path;
  if (typeof table !== 'string' || table.split('.').length !== 3 || table.split('.').some((p) => !p)) {
    return { error: 'the TABLE entry needs object_full_path catalog.schema.table' };
  }
  const privileges = entry.privileges;
  if (!Array.isArray(privileges) || !privileges.includes('MODIFY')) return { error: 'the TABLE entry must ask for the MODIFY privilege' };
  return { table: table.toLowerCase() };
}

/** Handles `POST /oidc/v1/token`. */
export function handleTokenRequest(req: IncomingMessage, res: ServerResponse, opts: TokenEndpointOptions): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) tooBig = true;
    else chunks.push(chunk);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    const forced = opts.forcedStatus();
    if (forced !== null) {
      if (forced >= 200 && forced < 300) return sendJson(res, forced, {});
      return oauthError(res, forced, forced >= 500 ? 'temporarily_unavailable' : 'invalid_client', `token endpoint answers ${forced} (emulator fault)`);
    }
    if (tooBig) return oauthError(res, 413, 'invalid_request', 'request body too large');
    const credentials = basicCredentials(req.headers.authorization);
    if (!credentials) return oauthError(res, 401, 'invalid_client', 'HTTP Basic client authentication is required');
    const enforce = opts.clientId !== undefined && opts.clientSecret !== undefined;
    if (enforce && !(sameSecret(credentials.id, opts.clientId!) && sameSecret(credentials.secret, opts.clientSecret!))) {
      return oauthError(res, 401, 'invalid_client', 'Client authentication failed');
    }
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      return oauthError(res, 400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    if (!(form.get('scope') ?? '').split(/\s+/).includes('all-apis')) {
      return oauthError(res, 400, 'invalid_scope', 'scope must be all-apis');
    }
    if (!RESOURCE.test(form.get('resource') ?? '')) {
      return oauthError(res, 400, 'invalid_target', 'resource must be api://databricks/workspaces/<workspace-id>/zerobusDirectWriteApi');
    }
    const scope = tableFromDetails(form.get('authorization_details'));
    if ('error' in scope) return oauthError(res, 400, 'invalid_request', scope.error);
    sendJson(res, 200, {
      access_token: opts.registry.issue(scope.table),
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      scope: 'all-apis',
    });
  });
}
