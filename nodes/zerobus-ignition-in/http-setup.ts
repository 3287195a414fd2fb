import { createCorsMiddleware, type CorsOptions, type Middleware } from '../../lib/ignition';
import type { IgnitionInRuntimeSettings } from './settings';

/**
 * The per-route middleware core `http in` applies from settings.js: `httpNodeMiddleware`
 * (a function or an array of them) and CORS from `httpNodeCors`. (`httpNodeAuth` is applied by
 * Node-RED itself to the whole node app.)
 */
export function routeMiddleware(settings: IgnitionInRuntimeSettings): Middleware[] {
  const chain: Middleware[] = [];
  const mw = settings.httpNodeMiddleware;
  if (typeof mw === 'function') chain.push(mw as Middleware);
  else if (Array.isArray(mw)) for (const f of mw.flat(Infinity)) if (typeof f === 'function') chain.push(f as Middleware);
  if (settings.httpNodeCors && typeof settings.httpNodeCors === 'object') chain.push(createCorsMiddleware(settings.httpNodeCors as CorsOptions));
  return chain;
}
