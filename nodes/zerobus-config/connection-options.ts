import type { ZerobusClientOptions } from '../../lib/zerobus';
import { PACKAGE_VERSION } from '../../lib/paths';

export type AuthType = 'oauth' | 'token';

/** What a zerobus-config holds, as typed in the editor (after Node-RED's ${ENV} substitution). */
export interface ConnectionSettings {
  workspaceUrl?: string;
  endpoint?: string;
  authType?: string;
  clientId?: string;
  clientSecret?: string;
  token?: string;
}

/** Catalog key of the problem (zerobus-config.errors.<key>) when the settings cannot work. */
export type SettingsProblem = 'endpointMissing' | 'endpointInvalid' | 'workspaceUrlMissing' | 'workspaceUrlInvalid' | 'clientIdMissing' | 'clientSecretMissing' | 'tokenMissing' | 'secretUnresolved';

export const USER_AGENT = `node-red-zerobus/${PACKAGE_VERSION}`;

/** Endpoint forms: host, host:port, https://host[:port], http://host:port (plaintext, explicit). */
const ENDPOINT_RE = /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?\/?$|^(https?:\/\/)?\[[0-9A-Fa-f:.]+\](:\d{1,5})?\/?$/;

export function isValidEndpoint(endpoint: string): boolean {
  return ENDPOINT_RE.test(endpoint.trim());
}

export function isValidWorkspaceUrl(url: string): boolean {
  try {
    const u = new URL(url.trim());
    // http:// is allowed (an emulator in a container), and warned about when it leaves the machine.
    return (u.protocol === 'https:' || u.protocol === 'http:') && !!u.hostname;
  } catch {
    return false;
  }
}

/**
 * `env: false` leaves out the environment fallbacks: a connection test aimed at URLs other than
 * the deployed ones must never send DATABRICKS_* secrets there.
 */
export function clientOptionsFrom(s: ConnectionSettings, { env = true }: { env?: boolean } = {}): { ok: true; options: ZerobusClientOptions } | { ok: false; problem: SettingsProblem } {
  const fromEnv = (name: string): string | undefined => (env ? process.env[name] : undefined);
  // Node-RED leaves `${VAR}` as text when VAR is not set: that text is not a secret to send
  if (isEnvReference(s.clientSecret) || isEnvReference(s.token)) return { ok: false, problem: 'secretUnresolved' };
  const endpoint = (s.endpoint ?? '').trim();
  if (!endpoint) return { ok: false, problem: 'endpointMissing' };
  if (!isValidEndpoint(endpoint)) return { ok: false, problem: 'endpointInvalid' };
  const workspaceUrl = (s.workspaceUrl ?? '').trim().replace(/\/+$/, '');
  if (workspaceUrl && !isValidWorkspaceUrl(workspaceUrl)) return { ok: false, problem: 'workspaceUrlInvalid' };
  const emulator = isLocalEmulator(endpoint);
  if (s.authType === 'token') {
    const token = s.token || fromEnv('DATABRICKS_TOKEN') || (emulator ? EMULATOR_CREDENTIAL : '');
    if (!token) return { ok: false, problem: 'tokenMissing' };
    return { ok: true, options: { endpoint, workspaceUrl: workspaceUrl || undefined, auth: { type: 'token', token }, userAgent: USER_AGENT } };
  }
  if (!workspaceUrl) return { ok: false, problem: 'workspaceUrlMissing' };
  const clientId = s.clientId?.trim() || fromEnv('DATABRICKS_CLIENT_ID')?.trim() || (emulator ? EMULATOR_CREDENTIAL : '');
  const clientSecret = s.clientSecret || fromEnv('DATABRICKS_CLIENT_SECRET') || (emulator ? EMULATOR_CREDENTIAL : '');
  if (!clientId) return { ok: false, problem: 'clientIdMissing' };
  if (!clientSecret) return { ok: false, problem: 'clientSecretMissing' };
  return {
    ok: true,
    options: { endpoint, workspaceUrl, auth: { type: 'oauth', clientId, clientSecret }, userAgent: USER_AGENT },
  };
}

/**
 * Credentials left empty fall back to the environment variables of Databricks' unified
 * authentication (DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, DATABRICKS_TOKEN), and for the
 * local emulator (an explicit plaintext http:// endpoint on this machine, which accepts any
 * credentials unless started with --client-id/--client-secret) to a placeholder, so that the
 * bundled examples run as imported.
 */
const EMULATOR_CREDENTIAL = 'local-emulator';

function isLocalEmulator(endpoint: string): boolean {
  if (!/^http:\/\//i.test(endpoint)) return false;
  try {
    return isLoopback(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** Hosts for which plaintext is acceptable (the local emulator). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** The host of a plaintext (http://) URL that leaves the machine, if any. */
export function plaintextRemoteHost(url: string | undefined): string | undefined {
  if (!url || !/^http:\/\//i.test(url.trim())) return undefined;
  try {
    const host = new URL(url.trim()).hostname;
    return isLoopback(host) ? undefined : host;
  } catch {
    return undefined;
  }
}

/**
 * Whether a value is an `${ENV}` reference: what the editor sends before Node-RED substitutes
 * it, and what Node-RED leaves when the variable is not set (it substitutes whole values only).
 */
export function isEnvReference(value: string | undefined): boolean {
  return typeof value === 'string' && /^\$\{\S+\}$/.test(value);
}
