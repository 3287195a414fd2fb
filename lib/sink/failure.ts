import type { Spool } from '../spool';
import { BackpressureError } from './errors';
import type { SinkFailure } from './types';

/** The spool could not be read: reported like a final error, retried like one. */
export class SpoolReadError extends Error {
  readonly code = 'SPOOL';
  readonly retryable = false;
  readonly hint = 'Check the spool folder (disk full, permissions, removed folder).';
  constructor(cause: Error) {
    super(`reading the spool failed: ${cause.message}`);
    this.name = 'SpoolReadError';
  }
}

/** Failure in words for the node; ZerobusError carries code, hint and retryability. */
export function toFailure(err: unknown): SinkFailure {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; hint?: unknown; retryable?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : 'ERROR',
    message: typeof e.message === 'string' && e.message ? e.message : String(err),
    hint: typeof e.hint === 'string' && e.hint ? e.hint : undefined,
    retryable: e.retryable === true,
  };
}

export function diskFull(spool: Spool): BackpressureError {
  return new BackpressureError('disk-full', `the disk of the spool is full (${spool.stats().backlogRecords} records waiting to be sent free space once acknowledged): records not accepted, resend later`);
}

export function spoolFull(spool: Spool, maxBytes: number): BackpressureError {
  const s = spool.stats();
  const records = s.backlogRecords + (s.pendingRecords ?? 0);
  const mb = (maxBytes / (1024 * 1024)).toFixed(1);
  return new BackpressureError('spool-full', `spool full (${records} records waiting, limit ${mb} MB): records not accepted, resend later`);
}

/** Waits for `promise` at most `ms`; never rejects, never leaves a timer behind. */
export async function bounded(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer) clearTimeout(timer);
}
