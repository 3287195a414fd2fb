/**
 * The receiver's routes under its base path, and how they are answered while no receiver is
 * behind the path (between a node's close and its redeployed successor's start).
 */
import type { RouteHandler } from './route-registry';
import { DEFAULT_RETRY_AFTER_S } from './limits';
import { CLOSING_BODY, sendJson } from './reply';

export const ROUTES = ['/ingest/batch', '/ingest', '/health', '/diagnostics', '/config'] as const;
export type ReceiverRoute = (typeof ROUTES)[number];

/** Is `subPath` (after the base path) one of the receiver's routes? */
export function isReceiverRoute(subPath: string): boolean {
  return ROUTES.some((r) => r === subPath);
}

/**
 * Serves the base path while no receiver is behind it (between a node's close and its
 * redeployed successor's start): 503 with Retry-After on the receiver's routes, so that a client
 * keeps its events and sends them again; other sub-paths fall through as before.
 */
export function vacantRouteHandler(retryAfterSeconds: number = DEFAULT_RETRY_AFTER_S): RouteHandler {
  const headers = { 'Retry-After': String(retryAfterSeconds) };
  return (_req, res, next, subPath) => {
    if (!ROUTES.some((r) => r === subPath)) return next();
    sendJson(res, 503, CLOSING_BODY, headers);
  };
}
