import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { ZerobusClient } from '../../lib/zerobus';
import { clientOptionsFrom, plaintextRemoteHost, type ConnectionSettings } from './connection-options';
import { translator } from '../common/i18n';
import { testConnection, type TestRequest } from './test-connection';

export interface ZerobusConfigCredentials {
  clientId?: string;
  clientSecret?: string;
  token?: string;
}

interface ZerobusConfigDef extends NodeDef {
  workspaceUrl: string;
  endpoint: string;
  authType: 'oauth' | 'token';
}

/** What zerobus-out nodes use of their connection. */
export interface ZerobusConfigNode extends Node<ZerobusConfigCredentials> {
  workspaceUrl: string;
  endpoint: string;
  authType: 'oauth' | 'token';
  /** The shared client (created on first use); throws a ZerobusConfigError when settings are incomplete. */
  register(user: Node): ZerobusClient;
  deregister(user: Node): Promise<void>;
}

export class ZerobusConfigError extends Error {
  readonly code = 'CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ZerobusConfigError';
  }
}

const TEST_TIMEOUT_MS = 15_000;
/** How long the config node waits, on close, for its users to finish their own close. */
const USERS_CLOSE_WAIT_MS = 8_000;
const adminAppsWithRoute = new WeakSet<object>();

export default function (RED: NodeAPI): void {
  const t = translator(RED, 'zerobus-config');

  function ZerobusConfig(this: ZerobusConfigNode, def: ZerobusConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.workspaceUrl = (def.workspaceUrl ?? '').trim();
    node.endpoint = (def.endpoint ?? '').trim();
    node.authType = def.authType === 'token' ? 'token' : 'oauth';

    // One client per config node: one channel and one token cache shared by every table writer.
    let client: ZerobusClient | undefined;
    const users = new Set<string>();
    let usersGone: (() => void) | undefined;
    let warnedPlaintext = false;

    node.register = (user: Node) => {
      if (!client) {
        const creds = node.credentials ?? {};
        const built = clientOptionsFrom({
          workspaceUrl: node.workspaceUrl,
          endpoint: node.endpoint,
          authType: node.authType,
          clientId: creds.clientId,
          clientSecret: creds.clientSecret,
          token: creds.token,
        } satisfies ConnectionSettings);
        if (!built.ok) throw new ZerobusConfigError(t(`errors.${built.problem}`));
        warnPlaintextOnce();
        client = new ZerobusClient(built.options);
      }
      users.add(user.id);
      return client;
    };

    node.deregister = async (user: Node) => {
      users.delete(user.id);
      if (users.size > 0) return;
      usersGone?.();
      const last = client;
      client = undefined;
      await last?.close().catch((err: Error) => node.warn(t('errors.closeFailed', { error: err.message })));
    };

    function warnPlaintextOnce(): void {
      if (warnedPlaintext) return;
      const host = plaintextRemoteHost(node.endpoint) ?? (node.authType === 'oauth' ? plaintextRemoteHost(node.workspaceUrl) : undefined);
      if (host) {
        warnedPlaintext = true;
        node.warn(t('errors.plaintext', { host }));
      }
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      // Flows stop in parallel: let the zerobus-out nodes flush through the client first.
      const wait = users.size > 0 ? new Promise<void>((resolve) => (usersGone = resolve)) : Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const bounded = Promise.race([wait, new Promise<void>((resolve) => (timer = setTimeout(resolve, USERS_CLOSE_WAIT_MS)))]);
      void bounded
        .then(async () => {
          if (timer) clearTimeout(timer);
          const last = client;
          client = undefined;
          users.clear();
          await last?.close().catch(() => undefined);
        })
        .finally(() => done());
    });
  }

  RED.nodes.registerType<ZerobusConfigNode, ZerobusConfigDef, unknown, ZerobusConfigCredentials>('zerobus-config', ZerobusConfig, {
    credentials: {
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
      token: { type: 'password' },
    },
  });

  registerTestRoute(RED, t);
}

/** POST zerobus/test: the editor's Test connection button (once per admin app). */
function registerTestRoute(RED: NodeAPI, t: ReturnType<typeof translator>): void {
  const app = RED.httpAdmin as unknown as object | undefined;
  if (!app || adminAppsWithRoute.has(app)) return;
  adminAppsWithRoute.add(app);
  RED.httpAdmin.post('/zerobus/test', RED.auth.needsPermission('zerobus-config.write'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as TestRequest;
    if (typeof body !== 'object' || Array.isArray(body)) {
      res.status(400).json({ ok: false, code: 'BAD_REQUEST', message: t('test.badRequest') });
      return;
    }
    const pick = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const request: TestRequest = {
      id: pick(body.id),
      table: pick(body.table),
      workspaceUrl: pick(body.workspaceUrl),
      endpoint: pick(body.endpoint),
      authType: pick(body.authType),
      clientId: pick(body.clientId),
      clientSecret: pick(body.clientSecret),
      token: pick(body.token),
    };
    testConnection(request, {
      t,
      timeoutMs: TEST_TIMEOUT_MS,
      deployed: (id) => {
        const deployed = RED.nodes.getNode(id) as ZerobusConfigNode | null;
        if (!deployed || deployed.type !== 'zerobus-config') return undefined;
        const creds = deployed.credentials ?? {};
        return {
          workspaceUrl: deployed.workspaceUrl, endpoint: deployed.endpoint, authType: deployed.authType,
          clientId: creds.clientId, clientSecret: creds.clientSecret, token: creds.token,
        } satisfies ConnectionSettings;
      },
    })
      .then((result) => res.json(result))
      .catch((err: Error) => res.status(500).json({ ok: false, code: 'ERROR', message: t('test.failed'), detail: err.name }));
  });
}
