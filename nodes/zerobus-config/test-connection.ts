import { ZerobusClient } from '../../lib/zerobus';
import { parseEndpoint } from '../../lib/zerobus/endpoint';
import { clientOptionsFrom, resolveEnvValue, type ConnectionSettings } from './connection-options';
import type { Translate } from '../shared/i18n';

/** What the editor's Test connection button shows. Never contains a secret or a token. */
export interface TestResult {
  ok: boolean;
  /** stable code: OK, BAD_CREDENTIALS, MISSING_GRANT, UNKNOWN_TABLE, UNREACHABLE, TLS, ... */
  code: string;
  message: string;
  hint?: string;
  /** the underlying error text, redacted */
  detail?: string;
}

export interface TestRequest extends ConnectionSettings {
  id?: string;
  table?: string;
}

/** The password placeholder the editor shows for a credential it does not know. */
export const PASSWORD_PLACEHOLDER = '__PWRD__';

/** lib error code → result code and catalog key */
const OUTCOMES: Record<string, { code: string; key: string }> = {
  TOKEN_REJECTED: { code: 'BAD_CREDENTIALS', key: 'badCredentials' },
  TOKEN_UNAVAILABLE: { code: 'TOKEN_ENDPOINT', key: 'tokenUnavailable' },
  UNAUTHENTICATED: { code: 'UNAUTHENTICATED', key: 'unauthenticated' },
  PERMISSION_DENIED: { code: 'MISSING_GRANT', key: 'missingGrant' },
  NOT_FOUND: { code: 'UNKNOWN_TABLE', key: 'unknownTable' },
  UNREACHABLE: { code: 'UNREACHABLE', key: 'unreachable' },
  UNAVAILABLE: { code: 'UNREACHABLE', key: 'unreachable' },
  DEADLINE_EXCEEDED: { code: 'UNREACHABLE', key: 'unreachable' },
  TLS: { code: 'TLS', key: 'tls' },
  INVALID_ARGUMENT: { code: 'REJECTED', key: 'rejected' },
  CONFIG: { code: 'CONFIG', key: 'config' },
};

export interface TestDeps {
  t: Translate;
  /** deployed credentials of a config node, for password fields the editor left as placeholders */
  deployedCredentials: (id: string) => ConnectionSettings | undefined;
  timeoutMs: number;
  createClient?: (opts: ConstructorParameters<typeof ZerobusClient>[0]) => ZerobusClient;
}

/** Fetches a token, opens and closes a stream to the table, and explains the outcome. */
export async function testConnection(req: TestRequest, deps: TestDeps): Promise<TestResult> {
  const { t } = deps;
  const fail = (code: string, key: string, params: Record<string, string> = {}, detail?: string): TestResult => ({
    ok: false,
    code,
    message: t(`test.${key}`, params),
    hint: t(`test.hint.${key}`, params),
    detail,
  });

  const table = (req.table ?? '').trim();
  if (!/^[^.\s]+\.[^.\s]+\.[^.\s]+$/.test(table)) return fail('TABLE_NAME', 'tableName', { table });

  const settings = withDeployedSecrets(req, deps);
  if ('missing' in settings) return fail('NOT_DEPLOYED', 'notDeployed', { field: settings.missing });
  const built = clientOptionsFrom(settings);
  if (!built.ok) return fail('CONFIG', 'config', { problem: t(`errors.${built.problem}`) });

  const secrets = [settings.clientSecret, settings.token].filter((s): s is string => !!s && s.length >= 4);
  const params = { table, endpoint: built.options.endpoint, port: String(parseEndpoint(built.options.endpoint).port), workspace: built.options.workspaceUrl ?? '' };
  const client = (deps.createClient ?? ((o) => new ZerobusClient(o)))(built.options);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${deps.timeoutMs} ms`), { code: 'TIMEOUT' })), deps.timeoutMs);
    });
    await Promise.race([client.testConnection(table, { recordType: 'json', timeoutMs: deps.timeoutMs }), timeout]);
    return { ok: true, code: 'OK', message: t('test.ok', params) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const outcome = OUTCOMES[e.code ?? ''] ?? (e.code === 'TIMEOUT' ? { code: 'TIMEOUT', key: 'timeout' } : { code: e.code ?? 'ERROR', key: 'failed' });
    return fail(outcome.code, outcome.key, params, tidyDetail(redact(e.message ?? String(err), secrets)));
  } finally {
    if (timer) clearTimeout(timer);
    await client.close().catch(() => undefined);
  }
}

/** Form values, with `${ENV}` resolved and placeholder passwords replaced by the deployed ones. */
function withDeployedSecrets(req: TestRequest, deps: TestDeps): ConnectionSettings | { missing: string } {
  const out: ConnectionSettings = {
    workspaceUrl: resolveEnvValue(req.workspaceUrl),
    endpoint: resolveEnvValue(req.endpoint),
    authType: req.authType === 'token' ? 'token' : 'oauth',
    clientId: resolveEnvValue(req.clientId),
  };
  const deployed = req.id ? deps.deployedCredentials(req.id) : undefined;
  for (const field of ['clientSecret', 'token'] as const) {
    let value = req[field];
    if (value === PASSWORD_PLACEHOLDER) {
      value = deployed?.[field];
      const needed = field === 'token' ? out.authType === 'token' : out.authType === 'oauth';
      if (value === undefined && needed) return { missing: field };
    }
    out[field] = resolveEnvValue(value);
  }
  return out;
}

/** grpc-js ends some errors with an empty "Resolution note:"; a dangling label helps nobody. */
function tidyDetail(text: string): string {
  return text.replace(/[\s.,;]*Resolution note:\s*$/i, '').trim();
}

/** Removes secrets and bearer tokens from a text that will be shown. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***');
}
