/**
 * Answers of the Ignition receiver: JSON with no-store caching, given exactly once per request
 * (a closed or already answered response is left alone).
 */
import type { ServerResponse } from 'http';

export type Json = Record<string, unknown>;

/** One request's answer, given exactly once. */
export class PendingReply {
  answered = false;
  constructor(
    readonly res: ServerResponse,
    private readonly onAnswer: (reply: PendingReply, status: number) => void,
  ) {}

  send(status: number, body: Json, headers: Record<string, string> = {}): void {
    if (this.answered) return;
    this.answered = true;
    sendJson(this.res, status, body, headers);
    this.onAnswer(this, status);
  }
}

export function sendJson(res: ServerResponse, status: number, body: Json, headers: Record<string, string>): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(text);
}

/** The answer to a request that arrives while its receiver is closing or gone. */
export const CLOSING_BODY = { error: 'closing', message: 'the receiver is being redeployed or stopped; send again' };
