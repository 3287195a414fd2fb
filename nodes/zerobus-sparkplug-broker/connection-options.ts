import * as fs from 'fs';
import type { HostConnectionOptions } from '../../lib/sparkplug';
import { flag } from '../common/flag';
import { numberProperty } from '../common/number-property';

export interface BrokerSettings {
  url: string;
  clientId: string;
  hostId: string;
  protocolVersion: string | number;
  keepalive: string | number;
  /** a flow written by hand, or a ${VAR}, may carry "false" as text */
  rejectUnauthorized: boolean | string;
  caPath?: string;
  certPath?: string;
  keyPath?: string;
}

export interface BrokerCredentials {
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export type BuildResult = { ok: true; options: HostConnectionOptions } | { ok: false; problem: 'url' | 'hostId' | 'tlsFile'; detail?: string };

/** MQTT keepalive when none is set (seconds), as mqtt.js and the editor default. */
const DEFAULT_KEEPALIVE_S = 30;

const URL_RE = /^(mqtts?|wss?):\/\/[^\s/]+/i;

/** The editor's default host id, also for flows written by hand without one. */
const DEFAULT_HOST_ID = 'node-red-zerobus';

export function hostIdOf(s: Pick<BrokerSettings, 'hostId'>): string {
  return (s.hostId ?? '').trim() || DEFAULT_HOST_ID;
}

/** A PEM given inline (credential) wins over a file path; file errors name the file, never its content. */
function pem(inline: string | undefined, file: string | undefined): string | Buffer | undefined {
  if (inline && inline.trim()) return inline;
  if (file && file.trim()) return fs.readFileSync(file.trim());
  return undefined;
}

/** Host connection options from the config node's properties and credentials. */
export function hostConnectionOptions(s: BrokerSettings, c: BrokerCredentials): BuildResult {
  const url = (s.url ?? '').trim();
  if (!URL_RE.test(url)) return { ok: false, problem: 'url' };
  const hostId = hostIdOf(s);
  if (/[+#/]/.test(hostId)) return { ok: false, problem: 'hostId' };
  const options: HostConnectionOptions = {
    url,
    clientId: (s.clientId ?? '').trim() || `nr-zerobus-${hostId}-${Math.random().toString(16).slice(2, 10)}`,
    hostId,
    protocolVersion: Number(s.protocolVersion) === 5 ? 5 : 4,
    keepalive: numberProperty(s.keepalive, DEFAULT_KEEPALIVE_S, { above: 0 }),
    rejectUnauthorized: flag(s.rejectUnauthorized, true),
  };
  if (c.username) options.username = c.username;
  if (c.password) options.password = c.password;
  try {
    const ca = pem(c.ca, s.caPath);
    const cert = pem(c.cert, s.certPath);
    const key = pem(c.key, s.keyPath);
    if (ca) options.ca = ca;
    if (cert) options.cert = cert;
    if (key) options.key = key;
  } catch (err) {
    return { ok: false, problem: 'tlsFile', detail: (err as NodeJS.ErrnoException).path ?? (err as Error).message };
  }
  return { ok: true, options };
}
