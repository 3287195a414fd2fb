import type { IncomingMessage, Server } from 'http';
import type { NodeAPI } from 'node-red';
import { createCorsMiddleware, normaliseBasePath, routeServes, serveH2cAsHttp1, type CorsOptions, type Middleware, type MiddlewareApp } from '../../lib/ignition';
import type { IgnitionInRuntimeSettings } from './settings';
import type { Translate } from '../common/i18n';

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

/**
 * Requests to the receivers' routes that offer `Upgrade: h2c` (Java's HttpClient, so Ignition's
 * `system.net.httpClient()`, and curl --http2 on http:// URLs) are served as HTTP/1.1 instead of
 * being left to Node-RED's WebSocket upgrade handling, which drops them (lib/ignition/h2c.ts).
 * Without a server to listen on, this cannot be done: the log says so, and what the script must do.
 * One listener per server; it reads the routes of the latest runtime that loaded this module.
 */
export function serveH2cOnReceiverRoutes(RED: NodeAPI, t: Translate): void {
  const server = (RED as unknown as { server?: Server }).server;
  if (!server || typeof server.on !== 'function') {
    RED.log.warn(t('errors.noH2c'));
    return;
  }
  const known = latestRuntime.has(server);
  latestRuntime.set(server, RED);
  if (known) return;
  serveH2cAsHttp1(server, (req: IncomingMessage) => {
    const red = latestRuntime.get(server)!;
    const settings = red.settings as unknown as IgnitionInRuntimeSettings;
    const path = pathWithinRoot(req.url ?? '/', settings.httpNodeRoot);
    return path !== undefined && routeServes(red.httpNode as unknown as MiddlewareApp, path);
  });
}

const latestRuntime = new WeakMap<Server, NodeAPI>();

/** The request's path relative to httpNodeRoot; undefined when it lies outside it. */
function pathWithinRoot(url: string, httpNodeRoot: string | false | undefined): string | undefined {
  if (httpNodeRoot === false) return undefined;
  const q = url.search(/[?#]/);
  const path = q < 0 ? url : url.slice(0, q);
  const root = normaliseBasePath(httpNodeRoot ?? '/');
  if (path === root) return '';
  return path.startsWith(`${root}/`) ? path.slice(root.length) : undefined;
}
