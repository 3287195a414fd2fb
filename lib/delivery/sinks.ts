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
  lastError?: string;
}

export class SinkRegistry {
  private readonly sinks = new Map<string, () => SinkState>();

  /** Registers a sink; returns the function that removes it. */
  register(id: string, describe: () => SinkState): () => void {
    this.sinks.set(id, describe);
    return () => {
      if (this.sinks.get(id) === describe) this.sinks.delete(id);
    };
  }

  get(id: string): SinkState | undefined {
    return this.sinks.get(id)?.();
  }

  all(): SinkState[] {
    return [...this.sinks.values()].map((describe) => describe());
  }
}

export const sinkRegistry = new SinkRegistry();
