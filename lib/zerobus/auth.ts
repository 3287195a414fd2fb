/**
 * Access tokens for Zerobus streams: OAuth machine-to-machine (docs/DESIGN.md §11.5), one cached token
 * per table (the scope is per table), refreshed before it expires and fetched fresh whenever the
 * server rejected a token. Or a fixed bearer token. Secrets and tokens never enter messages.
 */
import * as http from 'http';
import * as https from 'https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { ZerobusError } from './errors';
import { parseTableName, parseWorkspaceUrl, tokenUrl } from './endpoint';
import { httpProxyFor } from './proxy';

export interface TokenProvider {
  /** false for a fixed token: a rejected token cannot be replaced. */
  readonly refreshable: boolean;
  /** A token for writing to `table`; `fresh` skips the cache. Rejects with a ZerobusError. */
  getToken(table: string, opts?: { fresh?: boolean }): Promise<string>;
  /** Forget the cached token of a table (the server rejected it). */
  invalidate(table: string): void;
}

/**
 * Error codes of an authentication or authorisation refusal: the token endpoint's 4xx
 * (TOKEN_REJECTED) and the server's UNAUTHENTICATED / PERMISSION_DENIED. Final for one stream,
 * but often transient right after a secret rotation or a grant change: retried with a growing delay.
 */
export function isAuthFailure(code: unknown): boolean {
  return code === 'TOKEN_REJECTED' || code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED';
}

export class FixedTokenProvider implements TokenProvider {
  readonly refreshable = false;
  constructor(private readonly token: string) {
    if (!token || !token.trim()) {
      throw new ZerobusError('CONFIG', 'the bearer token is empty', { hint: 'Enter a token or switch to OAuth.' });
    }
  }
  async getToken(table: string): Promise<string> {
    parseTableName(table);
    return this.token.trim();
  }
  invalidate(): void {}
}

export interface OAuthOptions {
  workspaceUrl: string;
  clientId: string;
  clientSecret: string;
  /** Workspace id for the token audience (first DNS label of the Zerobus endpoint). */
  workspaceId: string;
  /** Per token request. Default 15 s. */
  timeoutMs?: number;
  /** Fraction of `expires_in` after which a cached token is replaced. Default 0.8. */
  refreshAtFraction?: number;
  now?: () => number;
  env?: Record<string, string | undefined>;
}

interface CachedToken { token: string; refreshAt: number }

const DEFAULT_EXPIRES_IN_S = 3600;

/** The `authorization_details` the token endpoint needs to scope a token to one table. */
export function authorizationDetails(table: string): object[] {
  const t = parseTableName(table);
  return [
    { type: 'unity_catalog_privileges', privileges: ['USE CATALOG'], object_type: 'CATALOG', object_full_path: t.catalog },
    { type: 'unity_catalog_privileges', privileges: ['USE SCHEMA'], object_type: 'SCHEMA', object_full_path: `${t.catalog}.${t.schema}` },
    {
      type: 'unity_catalog_privileges',
      privileges: ['SELECT', 'MODIFY'],
      object_type: 'TABLE',
      object_full_path: t.full,
      operations: ['zerobuswrite'],
    },
  ];
}

export function tokenRequestForm(table: string, workspaceId: string): string {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    scope: 'all-apis',
    resource: `api://databricks/workspaces/${workspaceId}/zerobusDirectWriteApi`,
    authorization_details: JSON.stringify(authorizationDetails(table)),
  }).toString();
}

export class OAuthTokenProvider implements TokenProvider {
  readonly refreshable = true;
  private readonly url: URL;
  private readonly basic: string;
  private readonly cache = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(private readonly opts: OAuthOptions) {
    this.url = tokenUrl(parseWorkspaceUrl(opts.workspaceUrl));
    if (!opts.clientId || !opts.clientId.trim()) throw new ZerobusError('CONFIG', 'the OAuth client id is empty', { hint: 'Enter the service principal\'s application (client) id.' });
    if (!opts.clientSecret) throw new ZerobusError('CONFIG', 'the OAuth client secret is empty', { hint: 'Enter the service principal\'s OAuth secret.' });
    this.basic = Buffer.from(`${opts.clientId.trim()}:${opts.clientSecret}`).toString('base64');
    this.now = opts.now ?? Date.now;
  }

  async getToken(table: string, opts: { fresh?: boolean } = {}): Promise<string> {
    const key = parseTableName(table).full;
    if (!opts.fresh) {
      const cached = this.cache.get(key);
      if (cached && this.now() < cached.refreshAt) return cached.token;
    }
    // Concurrent callers for one table share a request (a fresh request started after a
    // rejection is itself fresh, so sharing it is correct for both kinds of caller).
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  invalidate(table: string): void {
    this.cache.delete(table.trim());
  }

  private async fetch(table: string): Promise<string> {
    const body = tokenRequestForm(table, this.opts.workspaceId);
    const res = await this.post(body);
    if (res.status >= 200 && res.status < 300) {
      let parsed: { access_token?: unknown; expires_in?: unknown };
      try {
        parsed = JSON.parse(res.body);
      } catch {
        throw new ZerobusError('TOKEN_REJECTED', `token endpoint ${this.url.host} answered ${res.status} with a body that is not JSON`, {
          hint: 'The workspace URL does not point at a Databricks workspace (or a proxy answered instead). Check the workspace URL.',
        });
      }
      if (typeof parsed.access_token !== 'string' || !parsed.access_token) {
        throw new ZerobusError('TOKEN_REJECTED', `token endpoint ${this.url.host} answered without an access_token`, {
          hint: 'The workspace URL does not point at a Databricks OAuth endpoint. Check the workspace URL.',
        });
      }
      const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_EXPIRES_IN_S;
      const fraction = this.opts.refreshAtFraction ?? 0.8;
      this.cache.set(table, { token: parsed.access_token, refreshAt: this.now() + expiresIn * 1000 * fraction });
      return parsed.access_token;
    }
    throw this.statusError(res.status, res.body, table);
  }

  private statusError(status: number, body: string, table: string): ZerobusError {
    const reason = this.reasonOf(body);
    const msg = `token endpoint ${this.url.host} answered HTTP ${status}${reason ? `: ${reason}` : ''}`;
    if (status >= 500 || status === 429 || status === 408) {
      return new ZerobusError('TOKEN_UNAVAILABLE', msg, { hint: 'The workspace token endpoint is busy or failing; the client retries.' });
    }
    let hint: string;
    if (status === 401) {
      hint = 'The workspace rejected the client id or secret. Check the service principal\'s OAuth client id and secret, ' +
        'and that the service principal belongs to this workspace.';
    } else if (status === 403 || status === 400) {
      hint = `The token for ${table} was refused: the service principal lacks a grant or the table name is wrong. ` +
        'Grant USE CATALOG on the catalog, USE SCHEMA on the schema and SELECT and MODIFY on the table, and check catalog.schema.table.';
    } else if (status === 404) {
      hint = 'No OAuth token endpoint at this workspace URL. Check the workspace URL (the https address of the workspace, not the Zerobus endpoint).';
    } else {
      hint = 'The workspace refused the token request. Check the workspace URL and the service principal credentials.';
    }
    return new ZerobusError('TOKEN_REJECTED', msg, { hint });
  }

  /** The server's own error text, without anything secret and bounded in size. */
  private reasonOf(body: string): string {
    let text = '';
    try {
      const j = JSON.parse(body) as { error?: unknown; error_description?: unknown; message?: unknown };
      text = [j.error, j.error_description ?? j.message].filter((x) => typeof x === 'string' && x).join(': ');
    } catch {
      text = '';
    }
    if (this.opts.clientSecret) text = text.split(this.opts.clientSecret).join('***');
    return text.replace(/\s+/g, ' ').slice(0, 200);
  }

  private post(body: string): Promise<{ status: number; body: string }> {
    const url = this.url;
    const proxy = httpProxyFor(url, this.opts.env ?? process.env);
    const agent = proxy ? new HttpsProxyAgent(proxy.url) : undefined;
    const mod = url.protocol === 'https:' ? https : http;
    const timeoutMs = this.opts.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: ZerobusError) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      const req = mod.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Basic ${this.basic}`,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 1 << 20) chunks.push(c);
          });
          res.on('error', (e) => fail(this.networkError(e)));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      const timer = setTimeout(
        () => fail(new ZerobusError('TOKEN_UNAVAILABLE', `token endpoint ${url.host} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('error', (e) => {
        clearTimeout(timer);
        fail(this.networkError(e));
      });
      req.on('close', () => clearTimeout(timer));
      req.end(body);
    });
  }

  private networkError(e: Error & { code?: string }): ZerobusError {
    const code = e.code ?? '';
    const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code) || /certificate|ssl|tls/i.test(e.message);
    if (tls) {
      return new ZerobusError('TLS', `TLS to token endpoint ${this.url.host} failed: ${code || e.message}`, {
        hint: 'The secure connection to the workspace failed. Check the workspace URL, any TLS-intercepting proxy, and the system trust store (NODE_EXTRA_CA_CERTS).',
      });
    }
    return new ZerobusError('TOKEN_UNAVAILABLE', `cannot reach token endpoint ${this.url.host}: ${code || e.message}`, {
      hint: 'The workspace token endpoint is unreachable. Check the workspace URL, DNS, network and HTTPS_PROXY/NO_PROXY. The client retries.',
    });
  }
}
