import type { Node, NodeStatus } from 'node-red';

/**
 * Status updates are pushed to every open editor over the websocket, so a busy node must not
 * call node.status() per message. StatusThrottle keeps the latest status and emits at most one
 * update per interval (the first one at once), and never emits a repeat of the last one.
 * A status may be given as a function: it is only called when the status is actually shown,
 * so a node can refresh per message without building (and translating) texts per message.
 */
export type StatusSource = NodeStatus | (() => NodeStatus);

/**
 * Longest status text: the editor draws it on one line under the node, and a longer one runs
 * under the next node of the flow. Details belong in the log, the sidebar and Catch.
 */
export const STATUS_MAX_CHARS = 44;

/** A status text cut to STATUS_MAX_CHARS, on one line. */
export function fitStatus(status: NodeStatus): NodeStatus {
  if (typeof status.text !== 'string') return status;
  return { ...status, text: shorten(status.text, STATUS_MAX_CHARS) };
}

/** A text on one line, cut to at most `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1).trimEnd()}…`;
}

export class StatusThrottle {
  private pending: StatusSource | undefined;
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly node: Pick<Node, 'status'>, private readonly intervalMs = 500) {}

  set(status: StatusSource): void {
    if (this.closed) return;
    this.pending = status;
    if (!this.timer) this.emit();
  }

  /** Shows a status at once (state changes the user must see immediately, e.g. failures). */
  now(status: NodeStatus): void {
    if (this.closed) return;
    this.pending = status;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.emit();
  }

  close(final?: NodeStatus): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (final) this.node.status(fitStatus(final));
    this.closed = true;
  }

  private emit(): void {
    const source = this.pending;
    this.pending = undefined;
    const status = source && fitStatus(typeof source === 'function' ? source() : source);
    if (status) {
      const key = JSON.stringify(status);
      if (key !== this.last) {
        this.last = key;
        this.node.status(status);
      }
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending) this.emit();
    }, this.intervalMs);
    this.timer.unref?.();
  }
}

/** Compact rate text for status lines: 0.2, 4.5, 950, 12.3k, 1.2M (below 10 with one decimal, so a slow trickle is not 0). */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e4) return `${Math.round(perSecond / 1e3)}k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  if (perSecond > 0 && perSecond < 10) return String(Math.round(perSecond * 10) / 10);
  return `${Math.round(perSecond)}`;
}

/** The catalog key for a count: `<key>One` for exactly one, `<key>Many` otherwise. */
export function pluralKey(key: string, count: number): string {
  return count === 1 ? `${key}One` : `${key}Many`;
}
