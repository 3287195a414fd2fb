/**
 * Parsing and validation of the user-facing addresses: the Zerobus endpoint, the workspace URL
 * (token endpoint host) and the three-part table name. All failures are CONFIG errors whose
 * message says what form is expected.
 */
import { isIP } from 'net';
import { configError } from './errors';

export interface ZerobusEndpoint {
  host: string;          // without brackets for IPv6
  port: number;
  secure: boolean;       // false only for an explicit http:// endpoint
  /** grpc-js target (`host:port`, IPv6 in brackets). */
  target: string;
  /** First DNS label of the host: the workspace id of a real Zerobus endpoint. */
  workspaceId: string;
  /** What the user wrote, normalised, for messages. */
  display: string;
}

const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const ENDPOINT_FORMS =
  'Expected <workspace-id>.zerobus.<region>.cloud.databricks.com, host:port, https://host[:port] or http://host:port (plaintext, for a local emulator).';

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw configError(`${what}: port "${text}" is not a number`, ENDPOINT_FORMS);
  const port = Number(text);
  if (port < 1 || port > 65535) throw configError(`${what}: port ${port} is out of range 1-65535`, ENDPOINT_FORMS);
  return port;
}

function checkHost(host: string, what: string): void {
  if (!host) throw configError(`${what}: the host is missing`, ENDPOINT_FORMS);
  if (isIP(host)) return;
  const labels = host.replace(/\.$/, '').split('.');
  for (const label of labels) {
    if (!HOST_LABEL.test(label)) throw configError(`${what}: "${host}" is not a valid host name`, ENDPOINT_FORMS);
  }
}

export function parseEndpoint(input: string): ZerobusEndpoint {
  const what = 'Zerobus endpoint';
  const text = (input ?? '').trim();
  if (!text) throw configError(`${what} is empty`, ENDPOINT_FORMS);
  let secure = true;
  let rest = text;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (scheme) {
    const s = scheme[1].toLowerCase();
    if (s === 'http') secure = false;
    else if (s !== 'https') throw configError(`${what}: scheme "${s}://" is not supported`, ENDPOINT_FORMS);
    rest = text.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  if (/[/?#@\s]/.test(rest)) {
    throw configError(`${what} "${text}" must be a host with an optional port, without path, query or credentials`, ENDPOINT_FORMS);
  }
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(.*))?$/.exec(rest);
  if (v6) {
    host = v6[1];
    portText = v6[2];
    if (isIP(host) !== 6) throw configError(`${what}: "${host}" is not an IPv6 address`, ENDPOINT_FORMS);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else {
      host = rest;
    }
    checkHost(host, what);
  }
  const port = portText !== undefined ? parsePort(portText, what) : secure ? 443 : 80;
  host = host.toLowerCase();
  const workspaceId = host.split('.')[0];
  // A real Zerobus host starts with the numeric workspace id; a common mistake is to paste the
  // workspace URL (adb-….azuredatabricks.net) here instead.
  if (/\.zerobus\./.test(host) && !/^\d+$/.test(workspaceId)) {
    throw configError(
      `${what}: "${host}" must start with the numeric workspace id (the number after ?o= in the workspace URL)`,
      ENDPOINT_FORMS,
    );
  }
  const target = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, secure, target, workspaceId, display: `${secure ? 'https' : 'http'}://${target}` };
}

/** The workspace URL as a base for `/oidc/v1/token`: http(s) only, no query, no trailing slash. */
export function parseWorkspaceUrl(input: string | undefined): URL {
  const text = (input ?? '').trim();
  const forms = 'Expected the workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net or https://<name>.cloud.databricks.com.';
  if (!text) throw configError('workspace URL is required for OAuth', forms);
  let url: URL;
  try {
    url = new URL(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `https://${text}`);
  } catch {
    throw configError(`workspace URL "${text}" is not a valid URL`, forms);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw configError(`workspace URL: scheme "${url.protocol}" is not supported`, forms);
  if (url.username || url.password) throw configError('workspace URL must not contain credentials', forms);
  if (url.search || url.hash) throw configError('workspace URL must not contain a query or fragment', forms);
  if (/\.zerobus\./i.test(url.hostname)) {
    throw configError(`workspace URL "${url.host}" looks like the Zerobus endpoint; the token endpoint lives on the workspace URL`, forms);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export function tokenUrl(workspaceUrl: URL): URL {
  return new URL(`${workspaceUrl.href.replace(/\/+$/, '')}/oidc/v1/token`);
}

export interface TableName { catalog: string; schema: string; table: string; full: string }

/** `catalog.schema.table`: exactly three non-empty parts, no quoting (as the official SDK). */
export function parseTableName(input: string): TableName {
  const text = (input ?? '').trim();
  const parts = text.split('.');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '' || p !== p.trim())) {
    throw configError(
      `table name "${text}" must have exactly three non-empty parts: catalog.schema.table`,
      'Write the table as catalog.schema.table, e.g. main.ot.tag_events, without quotes or backticks.',
    );
  }
  if (parts.some((p) => /[`"'\s]/.test(p))) {
    throw configError(`table name "${text}" must not contain quotes, backticks or spaces`, 'Write the table as catalog.schema.table.');
  }
  return { catalog: parts[0], schema: parts[1], table: parts[2], full: text };
}
