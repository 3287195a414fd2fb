/**
 * Defaults and hard limits of the Ignition receiver. One home for every number that the node,
 * its editor help and the tests refer to.
 */
export const DEFAULT_PATH = '/system/zerobus';
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_EVENTS = 10_000;
export const DEFAULT_DURABLE_TIMEOUT_MS = 10_000;
/**
 * Time a request body may take to arrive (3 s per MiB of the default body limit), answered with
 * 408: a client that stops half-way must not hold a socket and up to maxBodyBytes for minutes.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** Request bodies read at once per receiver; beyond, 503 + Retry-After (memory: this × maxBodyBytes). */
export const DEFAULT_MAX_CONCURRENT_BODIES = 32;
/** Event ids remembered to drop exact resends (≈ 10 MB of memory at 100k). */
export const DEFAULT_DEDUP_CAPACITY = 100_000;
/** Seconds a client is asked to wait after a 503. */
export const DEFAULT_RETRY_AFTER_S = 5;
/**
 * Longest time a closed receiver's path is held for a redeployed successor (requests that wait
 * longer than ROUTE_PARK_MS get 503 + Retry-After; after this, a path nobody claimed is free).
 * The node frees it as soon as the deploy has started its flows; this bound covers a stop that
 * no start follows (runtime shutdown, flows stopped, missing node types). Above Node-RED's
 * default node close timeout (15 s), so that a slow close elsewhere in the deploy still fits.
 */
export const REDEPLOY_HOLD_MS = 30_000;
/**
 * Longest time a request that arrives while its path changes hands (a deploy in progress, or the
 * flows not started yet) waits for the new receiver before it gets the 503. Node-RED answers a
 * deploy request before the new flows have started, so a client that posts right after it lands
 * in that gap; a few seconds covers a normal start and stays far below client read timeouts.
 */
export const ROUTE_PARK_MS = 5_000;

/**
 * Per-event limits. Path, field and nesting limits are the tag normaliser's (one home); the
 * receiver adds a bound on the text size of a value (String/Text/Document tags), far above what
 * a tag carries, low enough that one event cannot hurt.
 */
export { MAX_TAG_PATH_LENGTH, MAX_FIELD_LENGTH, MAX_VALUE_DEPTH } from '../tags';
export const MAX_VALUE_CHARS = 1024 * 1024;
/** Per-item errors listed in a response; the counts stay exact. */
export const MAX_LISTED_ERRORS = 100;

export type AckMode = 'durable' | 'received';
