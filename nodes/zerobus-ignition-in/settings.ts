import type { NodeDef } from 'node-red';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_DEDUP_CAPACITY,
  DEFAULT_MAX_CONCURRENT_BODIES,
  DEFAULT_DURABLE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_EVENTS,
  DEFAULT_PATH,
  DEFAULT_RETRY_AFTER_S,
  normaliseBasePath,
  type AckMode,
} from '../../lib/ignition';
import { numberProperty, type NumberRule } from '../common/number-property';

const WHOLE_POSITIVE: NumberRule = { min: 1, integer: true };
const WHOLE_NON_NEGATIVE: NumberRule = { min: 0, integer: true };

/** The node's properties as saved in the flow (numbers may arrive as strings, e.g. from ${ENV}). */
export interface IgnitionInDef extends NodeDef {
  path?: string;
  ack?: string;
  maxBodyBytes?: string | number;
  maxEvents?: string | number;
  durableTimeout?: string | number;
  bodyTimeout?: string | number;
  maxConcurrentBodies?: string | number;
}

/** settings.js entries this node reads (all optional). */
export interface IgnitionInRuntimeSettings {
  httpNodeRoot?: string | false;
  httpNodeMiddleware?: unknown;
  httpNodeCors?: unknown;
  httpNodeAuth?: unknown;
  uiHost?: string;
  /** event ids remembered to drop resends (default 100000; 0 turns deduplication off) */
  zerobusIgnitionInDedupWindow?: number | string;
  /** seconds in the Retry-After header of a 503 (default 5) */
  zerobusIgnitionInRetryAfter?: number | string;
}

export interface IgnitionInSettings {
  /** normalised base path ('' is the root) */
  path: string;
  ack: AckMode;
  maxBodyBytes: number;
  maxEvents: number;
  durableTimeoutMs: number;
  bodyTimeoutMs: number;
  maxConcurrentBodies: number;
  dedupCapacity: number;
  retryAfterSeconds: number;
  /** why the path cannot be used, if so */
  pathError?: string;
}

/** Characters that cannot be part of a route path (query, fragment, parameters, spaces). */
const BAD_PATH_CHARS = /[?#:*\s\\]/;

export function resolveSettings(def: IgnitionInDef, runtime: IgnitionInRuntimeSettings): IgnitionInSettings {
  const rawPath = typeof def.path === 'string' && def.path.trim() ? def.path.trim() : DEFAULT_PATH;
  return {
    path: normaliseBasePath(rawPath),
    pathError: BAD_PATH_CHARS.test(rawPath) ? rawPath : undefined,
    ack: def.ack === 'received' ? 'received' : 'durable',
    maxBodyBytes: numberProperty(def.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, WHOLE_POSITIVE),
    maxEvents: numberProperty(def.maxEvents, DEFAULT_MAX_EVENTS, WHOLE_POSITIVE),
    durableTimeoutMs: numberProperty(def.durableTimeout, DEFAULT_DURABLE_TIMEOUT_MS, WHOLE_POSITIVE),
    bodyTimeoutMs: numberProperty(def.bodyTimeout, DEFAULT_BODY_TIMEOUT_MS, WHOLE_POSITIVE),
    maxConcurrentBodies: numberProperty(def.maxConcurrentBodies, DEFAULT_MAX_CONCURRENT_BODIES, WHOLE_POSITIVE),
    dedupCapacity: numberProperty(runtime.zerobusIgnitionInDedupWindow, DEFAULT_DEDUP_CAPACITY, WHOLE_NON_NEGATIVE),
    retryAfterSeconds: numberProperty(runtime.zerobusIgnitionInRetryAfter, DEFAULT_RETRY_AFTER_S, WHOLE_POSITIVE),
  };
}
