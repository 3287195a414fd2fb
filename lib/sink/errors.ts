/**
 * Errors the sink raises to its callers. They carry a stable `code` so that the node glue can
 * pick a catalog message and a source node can tell "try again later" (backpressure: answer
 * 503, keep the data) from "this can never work" (configuration).
 */

export type BackpressureReason = 'spool-full' | 'disk-full' | 'closing' | 'not-started' | 'failed';

/** The sink cannot take data now; nothing of the refused call was kept, so it must be resent. */
export class BackpressureError extends Error {
  readonly retryable = true;
  constructor(readonly reason: BackpressureReason, message: string) {
    super(message);
    this.name = 'BackpressureError';
  }
}

export function isBackpressureError(err: unknown): err is BackpressureError {
  return err instanceof BackpressureError;
}

/** The sink's options or its spool cannot work together (e.g. a schema is missing). */
export class SinkConfigError extends Error {
  readonly code = 'CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'SinkConfigError';
  }
}
