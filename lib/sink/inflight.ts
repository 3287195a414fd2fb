/** Records handed to the stream in one ingest request, in spool order. */
export interface InflightBatch {
  lastSeq: number;
  count: number;
  sentAt: number;
  acked: boolean;
  /** the record itself, kept only while isolating (one record per request) */
  data?: Buffer;
}

/**
 * The sink's requests in flight on its stream, oldest first. Acknowledgements are cumulative
 * and arrive in order: a batch acked out of order waits for those in front of it.
 */
export class InflightWindow {
  private batches: InflightBatch[] = [];
  records = 0;

  get first(): InflightBatch | undefined {
    return this.batches[0];
  }

  get length(): number {
    return this.batches.length;
  }

  push(batch: InflightBatch): void {
    this.batches.push(batch);
    this.records += batch.count;
  }

  /** Everything in flight is abandoned (its records are read again from the spool). */
  clear(): void {
    this.batches = [];
    this.records = 0;
  }

  /** Marks `batch` acked and releases the acked batches in front: the last seq, records, latency of the last. */
  ack(batch: InflightBatch, at: number, eachLatency: (ms: number) => void): { upto: number; count: number; latencyMs: number } | undefined {
    batch.acked = true;
    let upto = -1;
    let count = 0;
    let latencyMs = 0;
    while (this.batches.length > 0 && this.batches[0].acked) {
      const done = this.batches.shift()!;
      upto = done.lastSeq;
      count += done.count;
      latencyMs = at - done.sentAt;
      eachLatency(latencyMs);
    }
    if (upto < 0) return undefined;
    this.records -= count;
    return { upto, count, latencyMs };
  }
}
