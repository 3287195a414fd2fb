/**
 * Getting the request body, whether it still has to be read from the socket (within a byte
 * limit) or was already parsed by a body parser that ran before the receiver: with Node-RED's
 * default settings the editor's admin API and node routes share the root, and the admin JSON
 * parser consumes `application/json` bodies first. A consumed stream never ends again, so it
 * must never be waited on.
 */
import type { IncomingMessage } from 'http';

/** The request as Express and body-parser leave it. */
export type BodyRequest = IncomingMessage & { body?: unknown; _body?: boolean };

export type RequestBody =
  | { kind: 'raw'; bytes: Buffer }
  /** parsed by middleware that ran before us; `text` when a raw/text parser left a string */
  | { kind: 'preParsed'; data: unknown }
  | { kind: 'preParsedText'; text: string };

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body did not arrive within its deadline (a client that stalls holds memory and a socket). */
export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the request body did not arrive within ${timeoutMs} ms`);
    this.name = 'BodyTimeoutError';
  }
}

export class BodyConsumedError extends Error {
  constructor() {
    super('the request body was consumed by other middleware before the receiver could read it');
    this.name = 'BodyConsumedError';
  }
}

export class BodyAbortedError extends Error {
  constructor(message = 'the client closed the connection before the body was complete') {
    super(message);
    this.name = 'BodyAbortedError';
  }
}

/** Declared length, when the client sent a valid one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) return undefined;
  const n = Number(h);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function wasPreParsed(req: BodyRequest): boolean {
  return req._body === true;
}

/**
 * Resolves with the body; rejects with BodyTooLargeError as soon as more than `limit` bytes
 * are announced or arrive (the caller should then answer 413 with `Connection: close`), and with
 * BodyTimeoutError when the body is not complete within `timeoutMs` (408, `Connection: close`).
 *
 * A body that a parser before us read (chunked, so without a Content-Length to check) is held
 * to the same limit by the size of its JSON text: Node-RED's own parser allows 5 MB by default
 * (`apiMaxLength`), which is not this receiver's limit.
 */
export function getRequestBody(req: BodyRequest, limit: number, timeoutMs = 0): Promise<RequestBody> {
  if (wasPreParsed(req)) {
    const len = declaredLength(req);
    if (len !== undefined && len > limit) return Promise.reject(new BodyTooLargeError(limit));
    const body = req.body;
    const parsed: RequestBody =
      typeof body === 'string' ? { kind: 'preParsedText', text: body }
      : Buffer.isBuffer(body) ? { kind: 'preParsedText', text: body.toString('utf8') }
      : { kind: 'preParsed', data: body };
    if (len === undefined && preParsedBytes(parsed) > limit) return Promise.reject(new BodyTooLargeError(limit));
    return Promise.resolve(parsed);
  }
  if (req.readableEnded) return Promise.reject(new BodyConsumedError());
  const len = declaredLength(req);
  if (len !== undefined && len > limit) return Promise.reject(new BodyTooLargeError(limit));
  return readStream(req, limit, timeoutMs);
}

/** Bytes of a pre-parsed body as JSON text (at least what the client sent, less its whitespace). */
function preParsedBytes(body: RequestBody): number {
  if (body.kind === 'preParsedText') return Buffer.byteLength(body.text);
  if (body.kind !== 'preParsed') return body.bytes.length;
  try {
    return Buffer.byteLength(JSON.stringify(body.data) ?? '');
  } catch {
    return 0; // not JSON data (a parser that made something else): the shape check refuses it
  }
}

function readStream(req: IncomingMessage, limit: number, timeoutMs: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = timeoutMs > 0 ? setTimeout(() => {
      chunks.length = 0;
      req.pause();
      fail(new BodyTimeoutError(timeoutMs));
    }, timeoutMs) : undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      req.off('aborted', onAborted);
    };
    const fail = (err: Error): void => {
      cleanup();
      // keep an error listener: the socket may still report a reset after we gave up
      req.on('error', () => undefined);
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause();
        fail(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ kind: 'raw', bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    };
    const onError = (err: Error): void => fail(new BodyAbortedError(`error while reading the body: ${err.message}`));
    const onAborted = (): void => fail(new BodyAbortedError());
    const onClose = (): void => {
      if (!req.readableEnded) fail(new BodyAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}
