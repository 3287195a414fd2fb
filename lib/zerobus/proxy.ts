/**
 * Proxy selection from the environment, with the official SDK's precedence and NO_PROXY
 * matching (docs/DESIGN.md §11.2). grpc-js has its own env handling with different rules (lowercase
 * variables only, plain suffix matching, no `*`), so the channel switches it off and uses this.
 */
type Env = Record<string, string | undefined>;

function firstNonEmpty(env: Env, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

const GRPC_PROXY_VARS = ['grpc_proxy', 'GRPC_PROXY', 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] as const;
const GRPC_NO_PROXY_VARS = ['no_grpc_proxy', 'NO_GRPC_PROXY', 'no_proxy', 'NO_PROXY'] as const;
const NO_PROXY_VARS = ['no_proxy', 'NO_PROXY'] as const;

/** `*` bypasses everything; otherwise host equals an entry or ends with `.entry`. */
export function bypassesProxy(host: string, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  if (noProxy.trim() === '*') return true;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (entry.startsWith('.')) entry = entry.slice(1);
    if (!entry) continue;
    if (h === entry || h.endsWith(`.${entry}`)) return true;
  }
  return false;
}

export interface ProxyChoice {
  url: URL;
  /** `user:password` for Proxy-Authorization, decoded. */
  credentials?: string;
}

function parseProxyUrl(text: string): ProxyChoice | undefined {
  try {
    const url = new URL(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `http://${text}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    const credentials = url.username ? decodeURIComponent(url.username) + (url.password ? `:${decodeURIComponent(url.password)}` : '') : undefined;
    return credentials ? { url, credentials } : { url };
  } catch {
    return undefined; // unparseable: connect directly, as the official SDK does
  }
}

/** Proxy for the gRPC channel to `host`, or undefined for a direct connection. */
export function grpcProxyFor(host: string, env: Env = process.env): ProxyChoice | undefined {
  const proxy = firstNonEmpty(env, GRPC_PROXY_VARS);
  if (!proxy) return undefined;
  if (bypassesProxy(host, firstNonEmpty(env, GRPC_NO_PROXY_VARS))) return undefined;
  return parseProxyUrl(proxy);
}

/** Proxy for an HTTP(S) request (the token endpoint), curl/reqwest conventions. */
export function httpProxyFor(url: URL, env: Env = process.env): ProxyChoice | undefined {
  const names = url.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY'];
  const proxy = firstNonEmpty(env, names);
  if (!proxy) return undefined;
  if (bypassesProxy(url.hostname, firstNonEmpty(env, NO_PROXY_VARS))) return undefined;
  return parseProxyUrl(proxy);
}
