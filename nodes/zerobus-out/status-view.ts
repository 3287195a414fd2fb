import type { NodeStatus } from 'node-red';
import type { SinkFailure, SinkStats, SinkStatus } from '../../lib/sink';
import { formatRate, shorten, STATUS_MAX_CHARS } from '../common/status';
import type { Translate } from '../common/i18n';

/** Catalog key of the short label for a final error, by lib error code. */
const FAILURE_KIND: Record<string, string> = {
  TOKEN_REJECTED: 'auth',
  UNAUTHENTICATED: 'auth',
  TOKEN_UNAVAILABLE: 'auth',
  PERMISSION_DENIED: 'grant',
  NOT_FOUND: 'table',
  INVALID_ARGUMENT: 'schema',
  CONFIG: 'config',
  SPOOL: 'spool',
  SPOOL_LOCKED: 'spool',
};

export function failureKind(f: SinkFailure): string {
  return FAILURE_KIND[f.code] ?? 'other';
}

/** The status line: state, rate and backlog in few words (docs/DESIGN.md §4.2). */
export function statusFor(status: SinkStatus, stats: SinkStats, accepting: boolean, t: Translate): NodeStatus {
  const backlog = formatRate(stats.backlog);
  switch (status.state) {
    case 'starting':
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t('status.connecting', { backlog }) };
    case 'streaming': {
      if (!accepting) return { fill: 'yellow', shape: 'ring', text: t('status.spoolFull', { backlog }) };
      const count = runningStreams(stats);
      const rate = formatRate(stats.rateOut);
      return { fill: 'green', shape: 'dot', text: count > 1 ? t('status.streamingMany', { count, rate, backlog }) : t('status.streaming', { rate, backlog }) };
    }
    case 'reconnecting': {
      const seconds = status.retryInMs ? Math.max(1, Math.round(status.retryInMs / 1000)) : 0;
      const text = seconds ? t('status.reconnectingIn', { seconds, backlog }) : t('status.reconnecting', { backlog });
      return { fill: 'yellow', shape: 'ring', text };
    }
    case 'failed': {
      const f = status.error ?? { code: 'ERROR', message: '', retryable: false };
      const text = t(`status.failed.${failureKind(f)}`, { reason: shorten(f.message, 60), backlog });
      if (!status.retryAt) return { fill: 'red', shape: 'ring', text };
      // the next attempt's time must survive the status length limit: the reason gives way
      const time = clockTime(status.retryAt);
      const room = STATUS_MAX_CHARS - t('status.retryAt', { text: '', time }).length;
      return { fill: 'red', shape: 'ring', text: t('status.retryAt', { text: shorten(text, room), time }) };
    }
    case 'closing':
      return { fill: 'grey', shape: 'ring', text: t('status.closing') };
    default:
      return {};
  }
}

/** Streams the sink runs now (stats without the list count as one). */
function runningStreams(stats: SinkStats): number {
  return stats.streams?.length ?? 1;
}

/** HH:MM:SS in the server's time zone: when the next attempt is due. */
function clockTime(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
