import { ZerobusClient } from '../../lib/zerobus';
import { parseEndpoint } from '../../lib/zerobus/endpoint';
import { clientOptionsFrom, isEnvReference, type ConnectionSettings } from './connection-options';
import type { Translate } from '../common/i18n';

/** What the editor's Test connection button shows. Never contains a secret or a token. */
export interface TestResult {
  ok: boolean;
  /** stable code: OK, BAD_CREDENTIALS, MISSING_GRANT, UNKNOWN_TABLE, UNREACHABLE, TLS, ... */
  code: string;
  message: string;
  hint?: string;
  /** the kind of failure: error code, HTTP or gRPC status, network error code — never text a server chose */
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
  /**
   * The deployed settings and credentials (as the runtime resolved them) of a zerobus-config
   * node; undefined for any other id, including nodes of other types.
   */
  deployed: (id: string) => ConnectionSettings | undefined;
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

  const target = testTarget(req, deps.deployed);
  if ('refused' in target) return fail(target.refused, REFUSAL_KEYS[target.refused], { field: target.field });
  const built = clientOptionsFrom(target.settings, { env: target.deployedTarget });
  if (!built.ok) return fail('CONFIG', 'config', { problem: t(`errors.${built.problem}`) });

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
    return fail(outcome.code, outcome.key, params, failureKind(err));
  } finally {
    if (timer) clearTimeout(timer);
    await client.close().catch(() => undefined);
  }
}

type Refusal = 'NOT_DEPLOYED' | 'SECRET_ELSEWHERE' | 'ENV_NOT_DEPLOYED';
const REFUSAL_KEYS: Record<Refusal, string> = { NOT_DEPLOYED: 'notDeployed', SECRET_ELSEWHERE: 'secretElsewhere', ENV_NOT_DEPLOYED: 'envNotDeployed' };
type Field = 'workspaceUrl' | 'endpoint' | 'clientId' | 'clientSecret' | 'token';

/**
 * What to test, from the form values. Whoever may call this route names the URLs, so nothing of
 * the runtime's may travel to URLs it chose: a deployed secret (the editor's password
 * placeholder) is used only for the id of a deployed zerobus-config and only while the URLs are
 * the deployed ones, and so are the environment fallbacks. An `${ENV}` reference is never read
 * from the request: it stands for the deployed value of that field (the runtime resolved it).
 */
function testTarget(
  req: TestRequest, deployedOf: TestDeps['deployed'],
): { settings: ConnectionSettings; deployedTarget: boolean } | { refused: Refusal; field: Field } {
  const deployed = req.id ? deployedOf(req.id) : undefined;
  const settings: ConnectionSettings = { authType: req.authType === 'token' ? 'token' : 'oauth' };
  for (const field of ['workspaceUrl', 'endpoint', 'clientId'] as const) {
    const value = req[field];
    if (!isEnvReference(value)) settings[field] = value;
    else if (deployed) settings[field] = deployed[field];
    else return { refused: 'ENV_NOT_DEPLOYED', field };
  }
  const deployedTarget = deployed !== undefined && sameUrl(settings.workspaceUrl, deployed.workspaceUrl) && sameUrl(settings.endpoint, deployed.endpoint);
  for (const field of ['clientSecret', 'token'] as const) {
    const value = req[field];
    if (value !== PASSWORD_PLACEHOLDER && !isEnvReference(value)) {
      settings[field] = value;
      continue;
    }
    const needed = field === 'token' ? settings.authType === 'token' : settings.authType === 'oauth';
    if (!needed) continue;
    if (!deployed || deployed[field] === undefined) return { refused: value === PASSWORD_PLACEHOLDER ? 'NOT_DEPLOYED' : 'ENV_NOT_DEPLOYED', field };
    if (!deployedTarget) return { refused: 'SECRET_ELSEWHERE', field };
    settings[field] = deployed[field];
  }
  return { settings, deployedTarget };
}

function sameUrl(a: string | undefined, b: string | undefined): boolean {
  const norm = (u: string | undefined) => (u ?? '').trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * The kind of a failure, for the detail line: its error code, and the HTTP or gRPC status or
 * network error code its message names. The rest of the message may be what the server at a
 * URL of the caller's choosing answered, which this route must not reflect.
 */
export function failureKind(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; grpcCode?: unknown; message?: unknown };
  const parts = [typeof e.code === 'string' && /^[A-Z_]{2,40}$/.test(e.code) ? e.code : 'ERROR'];
  const message = typeof e.message === 'string' ? e.message : '';
  const http = /\b(?:HTTP|answered) (\d{3})\b/.exec(message);
  if (http) parts.push(`HTTP ${http[1]}`);
  if (typeof e.grpcCode === 'number') parts.push(`gRPC ${e.grpcCode}`);
  const net = /\b(E(?:CONN|HOST|NET|AI_|TIMEDOUT|PIPE|ADDR)[A-Z_]*|UND_ERR_[A-Z_]+|(?:CERT|UNABLE|DEPTH|SELF_SIGNED|ERR_TLS)[A-Z_]*)\b/.exec(message);
  if (net) parts.push(net[1]);
  return parts.join(' · ');
}
