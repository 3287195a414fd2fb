/**
 * CORS for the receiver's routes from Node-RED's `httpNodeCors` setting (the options object of
 * the `cors` package that core `http in` passes on), implemented here so that the package does
 * not depend on Node-RED's own copy of `cors`.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { Middleware } from './route-registry';

type OriginOption = boolean | string | RegExp | (string | RegExp)[];
export interface CorsOptions {
  origin?: OriginOption;
  methods?: string | string[];
  allowedHeaders?: string | string[];
  exposedHeaders?: string | string[];
  credentials?: boolean;
  maxAge?: number;
}

export function createCorsMiddleware(options: CorsOptions): Middleware {
  const methods = list(options.methods) ?? 'GET,HEAD,PUT,PATCH,POST,DELETE';
  return (req: IncomingMessage, res: ServerResponse, next) => {
    const origin = req.headers.origin;
    const allow = allowedOrigin(options.origin ?? '*', origin);
    if (allow) {
      res.setHeader('Access-Control-Allow-Origin', allow);
      if (allow !== '*') res.setHeader('Vary', 'Origin');
      if (options.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      const exposed = list(options.exposedHeaders);
      if (exposed) res.setHeader('Access-Control-Expose-Headers', exposed);
    }
    if ((req.method ?? '').toUpperCase() !== 'OPTIONS') return next();
    // preflight
    res.setHeader('Access-Control-Allow-Methods', methods);
    const headers = list(options.allowedHeaders) ?? req.headers['access-control-request-headers'];
    if (headers) res.setHeader('Access-Control-Allow-Headers', headers);
    if (typeof options.maxAge === 'number') res.setHeader('Access-Control-Max-Age', String(options.maxAge));
    res.statusCode = 204;
    res.setHeader('Content-Length', '0');
    res.end();
  };
}

function list(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function allowedOrigin(option: OriginOption, origin: string | undefined): string | undefined {
  if (option === false) return undefined;
  if (option === '*') return '*';
  if (!origin) return typeof option === 'string' ? option : undefined;
  if (option === true) return origin;
  if (typeof option === 'string') return option;
  const candidates = Array.isArray(option) ? option : [option];
  return candidates.some((c) => (typeof c === 'string' ? c === origin : c.test(origin))) ? origin : undefined;
}
