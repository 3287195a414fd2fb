/**
 * Who can reach a receiver, and with which key: an API key Node-RED left as an unresolved
 * `${VAR}`, and node routes open to other machines without authentication.
 */
import type { IgnitionInRuntimeSettings } from './settings';

/** An `${VAR}` reference Node-RED left as text because the variable is not set (it substitutes whole values only). */
export function unresolvedReference(secret: string | undefined): string | undefined {
  return secret && /^\$\{\S+\}$/.test(secret) ? secret : undefined;
}

/**
 * Whether node routes can be reached from other machines with no authentication in front of
 * them: Node-RED listens on every interface unless `uiHost` says otherwise, and `httpNodeAuth`
 * puts basic authentication before every node route.
 */
export function reachableWithoutAuth(runtime: IgnitionInRuntimeSettings): boolean {
  if (runtime.httpNodeAuth) return false;
  const host = (runtime.uiHost ?? '').trim().replace(/^\[|\]$/g, '').toLowerCase();
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}
