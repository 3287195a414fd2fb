/**
 * Sinks (zerobus-out nodes) publish whether they can accept data now, so that sources can
 * answer readiness probes and apply backpressure (503) before taking data they cannot keep.
 */
export interface SinkState {
  id: string;
  name?: string;
  table: string;
  /** false when the spool is full or the node is closing: new data would be refused */
  accepting: boolean;
  /** a Zerobus stream is open and acknowledging */
  connected: boolean;
  /** short machine-readable state: connecting, streaming, reconnecting, failed, closed */
  state: string;
  /** records spooled but not yet acknowledged */
  backlog: number;
  /** records Zerobus acknowledged since this sink started (a redeploy starts a new count) */
  acknowledged?: number;
  /** tells one start of a sink from the next under the same node id */
  instance?: number;
  lastError?: string;
}

/**
 * Where a sink sends, for a source that reports the effective configuration (never a secret:
 * the OAuth client id is an identifier, the client secret and token stay out).
 */
export interface SinkSettingsView {
  table: string;
  workspaceUrl?: string;
  endpoint?: string;
  authType?: string;
  clientId?: string;
  /** source_system written when an event carries none */
  sourceSystem: string;
  spool: 'disk' | 'memory';
  spoolMaxBytes: number;
  overflow: string;
  maxInflightRecords: number;
}

let instances = 0;
/** A number for each start of a sink, distinct within the process. */
export function nextSinkInstance(): number {
  return ++instances;
}

export class SinkRegistry {
  private readonly sinks = new Map<string, () => SinkState>();
  private readonly settings = new Map<string, () => SinkSettingsView>();

  /** Registers a sink (and where it sends, when known); returns the function that removes it. */
  register(id: string, describe: () => SinkState, settings?: () => SinkSettingsView): () => void {
    this.sinks.set(id, describe);
    if (settings) this.settings.set(id, settings);
    else this.settings.delete(id);
    return () => {
      if (this.sinks.get(id) !== describe) return;
      this.sinks.delete(id);
      this.settings.delete(id);
    };
  }

  settingsOf(id: string): SinkSettingsView | undefined {
    return this.settings.get(id)?.();
  }

  get(id: string): SinkState | undefined {
    return this.sinks.get(id)?.();
  }

  all(): SinkState[] {
    return [...this.sinks.values()].map((describe) => describe());
  }
}

export const sinkRegistry = new SinkRegistry();
