/**
 * Can the pipeline take data now? Decided from the zerobus-out nodes this receiver feeds (found
 * by walking the flow's wires), or from every deployed one when none is reachable by wires
 * (events may leave through link nodes or subflows).
 */
import type { SinkState } from '../delivery/sinks';
import type { AckMode } from './limits';

export interface Readiness {
  ready: boolean;
  /** why not ready, in words a user can act on */
  reason?: string;
  /** which sinks the verdict is based on */
  scope: 'reachable' | 'all' | 'none';
  sinks: SinkState[];
}

export function assessReadiness(ack: AckMode, reachable: SinkState[], all: SinkState[]): Readiness {
  const scope = reachable.length ? 'reachable' : all.length ? 'all' : 'none';
  const sinks = scope === 'reachable' ? reachable : all;
  if (scope === 'none') {
    return ack === 'durable'
      ? { ready: false, scope, sinks, reason: 'no zerobus-out node is deployed, so events cannot be made durable (deploy one, or set ack to "received")' }
      : { ready: true, scope, sinks };
  }
  const blocked = sinks.find((s) => !s.accepting);
  if (!blocked) return { ready: true, scope, sinks };
  const label = blocked.name || blocked.table || blocked.id;
  const detail = blocked.lastError ? `${blocked.state}: ${blocked.lastError}` : blocked.state;
  return { ready: false, scope, sinks, reason: `zerobus-out "${label}" cannot accept data now (${detail})` };
}
