/** What an Ignition receiver is given (its options) and what it hands on and answers per request. */
import type { TagEvent } from '../tags/event';
import type { DeliveryTracker, TicketCounts } from '../delivery/tickets';
import type { SinkState } from '../delivery/sinks';
import type { BodyRoute } from './shape';
import type { Downstream } from './config-route';
import type { Readiness } from './readiness';
import type { AckMode } from './limits';

export interface ItemError {
  /** position of the event in the request; null when a sink refused it after it left this node */
  index: number | null;
  message: string;
}

export interface IngestResult {
  received: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  errors: ItemError[];
}

/** What one request hands downstream. */
export interface IngestBatch {
  route: BodyRoute;
  events: TagEvent[];
  /** `ack: durable` only: the message must carry these under TICKETS_PROPERTY */
  tickets?: TicketCounts;
  result: IngestResult;
  remoteAddress?: string;
}

export interface ReceiverOptions {
  /** the base path, for messages and diagnostics */
  path: string;
  ack: AckMode;
  maxBodyBytes: number;
  maxEvents: number;
  durableTimeoutMs: number;
  /** deadline for a request body to arrive (408 past it); default DEFAULT_BODY_TIMEOUT_MS */
  bodyTimeoutMs?: number;
  /** bodies read at once (503 + Retry-After beyond); default DEFAULT_MAX_CONCURRENT_BODIES */
  maxConcurrentBodies?: number;
  apiKey?: string;
  /** a configuration error (e.g. an unresolved `${VAR}` as the API key): every route answers 503 */
  configError?: string;
  dedupCapacity?: number;
  /** keeps the duplicate window in this file across restarts and deploys (lib/ignition/dedup-store.ts) */
  dedupFile?: string;
  /** a failed save of the duplicate window (the window itself keeps working) */
  onDedupSaveError?: (err: Error) => void;
  retryAfterSeconds?: number;
  version: string;
  emit: (batch: IngestBatch) => void;
  readiness: () => Readiness;
  /** the sinks running when the receiver starts: acknowledgements they made before are not counted */
  sinksAtStart?: SinkState[];
  /** the settings of the nodes downstream, for `GET {path}/config` */
  downstream?: () => Downstream;
  /** called after every answered request (status updates) */
  onResponse?: (status: number, info: { preParsed: boolean }) => void;
  tracker?: DeliveryTracker;
  now?: () => number;
}
