/**
 * The sink's streams to its table ("lanes"). Each lane is one Zerobus stream with its own
 * sender: it reads the spool on its own cursor, sends the records it owns (partitioner.ts) and
 * keeps its own offsets, acknowledgements and recovery. A record leaves the spool when every
 * lane has acknowledged everything up to it: the frontier is the lowest of the lanes' own
 * acknowledged points. A crash or restart resends from that frontier on every lane.
 */
import type { Spool } from '../spool';
import type { FinalErrorPolicy, StreamOptions, StreamState, ZerobusError, ZerobusStream } from '../zerobus';
import { RateMeter } from './meters';
import type { StreamAutoscaler } from './stream-autoscaler';
import { Partitioner } from './partitioner';
import type { PartitionKeyReader } from './partition-key';
import { SpoolSender, type SenderHost, type SenderLimits } from './sender';
import type { SinkStreamStats } from './types';

/** What every lane's sender shares with the sink. */
export type SharedSenderHost = Omit<SenderHost, 'ackedSeq' | 'readableUpTo' | 'owns' | 'span' | 'acked'>;

export interface LanesHost {
  spool: Spool;
  createStream(options: StreamOptions): ZerobusStream;
  streamOptions: StreamOptions;
  sender: SharedSenderHost;
  limits: SenderLimits;
  /** `count` records of `lane` were acknowledged; every record up to `frontier` is */
  acked(count: number, frontier: number, latencyMs: number): void;
  state(lane: StreamLane, state: StreamState, detail?: { retryInMs?: number; error?: Error }): void;
  finalError(lane: StreamLane, err: ZerobusError, wasOpen: boolean): ReturnType<FinalErrorPolicy>;
  now(): number;
}

export class StreamLane {
  /** every record up to this one that the lane owns is acknowledged */
  ackedSeq: number;
  recordsOut = 0;
  readonly rateOut: RateMeter;
  /** being retired: it sends what it owns up to this record, then closes */
  retireAfter: number | undefined;
  sender!: SpoolSender;

  constructor(readonly index: number, readonly stream: ZerobusStream, from: number, now: () => number) {
    this.ackedSeq = from;
    this.rateOut = new RateMeter(5, now);
  }

  stats(): SinkStreamStats {
    return {
      index: this.index,
      state: this.stream.state,
      inFlight: this.sender.inFlightRecords,
      recordsOut: this.recordsOut,
      rateOut: this.rateOut.perSecond(),
      reconnects: this.stream.reconnects,
      retiring: this.retireAfter !== undefined,
    };
  }
}

export class StreamLanes {
  private lanes: StreamLane[] = [];
  private partitioner!: Partitioner;
  private frontier = 0;
  private autoscaleTimer: NodeJS.Timeout | undefined;
  /** closes of retired lanes still running */
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly host: LanesHost, private readonly keyOf: PartitionKeyReader | undefined) {}

  get count(): number {
    return this.lanes.filter((lane) => lane.retireAfter === undefined).length;
  }

  get all(): readonly StreamLane[] {
    return this.lanes;
  }

  get inFlightRecords(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.sender.inFlightRecords, 0);
  }

  /** true when every running stream is open */
  get allOpen(): boolean {
    return this.lanes.every((lane) => lane.stream.state === 'open');
  }

  get anyOpen(): boolean {
    return this.lanes.some((lane) => lane.stream.state === 'open');
  }

  /**
   * streams 'auto': every interval (a second) the scaler may add or retire a lane. `load` gives the
   * backlog and the acknowledged rate, or undefined while no change should be made.
   */
  autoscale(scaler: StreamAutoscaler, intervalMs: number, load: () => { backlog: number; rateOut: number } | undefined): void {
    this.autoscaleTimer = setInterval(() => {
      const now = load();
      if (!now || this.isChanging()) return;
      const step = scaler.decide({ now: this.host.now(), ...now, streams: this.count, allOpen: this.allOpen });
      if (step > 0) this.grow();
      else if (step < 0) this.shrink();
    }, intervalMs);
    this.autoscaleTimer.unref();
  }

  /** Opens `count` lanes that start after `ackedSeq` (what the spool already released). Throws when a stream cannot be created. */
  start(count: number, ackedSeq: number): void {
    this.frontier = ackedSeq;
    this.partitioner = new Partitioner(count, ackedSeq + 1, this.keyOf);
    for (let i = 0; i < count; i++) this.open(i, ackedSeq);
  }

  /** One more lane: the records after the lanes' read front go by the new count. */
  grow(): void {
    if (this.isChanging()) return;
    const boundary = this.readFront();
    const index = this.lanes.length;
    this.partitioner.resize(index + 1, boundary);
    this.open(index, boundary);
  }

  /** One lane fewer: the last lane sends what it owns up to the read front, then closes. */
  shrink(): void {
    if (this.isChanging() || this.lanes.length <= 1) return;
    const boundary = this.readFront();
    this.partitioner.resize(this.lanes.length - 1, boundary);
    const last = this.lanes[this.lanes.length - 1];
    last.retireAfter = boundary;
    this.settle(last);
  }

  /** A change of the count is under way (a lane retiring, or lanes waiting at a boundary). */
  isChanging(): boolean {
    return this.lanes.some((lane) => lane.retireAfter !== undefined) || this.partitioner.readableUpTo(this.frontier) !== Infinity;
  }

  wake(): void {
    for (const lane of this.lanes) lane.sender.wake();
  }

  /** Stops every sender and closes every stream (bounded by the caller). */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.autoscaleTimer);
    const lanes = this.lanes;
    this.lanes = [];
    for (const lane of lanes) lane.sender.stop();
    await Promise.all([
      ...lanes.map((lane) => {
        lane.stream.removeAllListeners('state');
        return lane.stream.close(timeoutMs).catch(() => undefined);
      }),
      ...this.retiring,
    ]);
  }

  private open(index: number, from: number): void {
    const stream = this.host.createStream({
      ...this.host.streamOptions,
      finalErrors: (err, attempt) => this.host.finalError(lane, err, attempt.wasOpen),
    });
    const lane = new StreamLane(index, stream, from, this.host.now);
    stream.on('state', (state: StreamState, detail?: { retryInMs?: number; error?: Error }) => {
      lane.sender.wake();
      this.host.state(lane, state, detail);
    });
    stream.on('error', () => undefined); // a stream fails only while it closes
    lane.sender = new SpoolSender(this.host.spool, stream, this.senderHost(lane), this.host.limits);
    this.lanes.push(lane);
    void lane.sender.run();
  }

  private senderHost(lane: StreamLane): SenderHost {
    return {
      ...this.host.sender,
      ackedSeq: () => lane.ackedSeq,
      readableUpTo: () => {
        const end = this.partitioner.readableUpTo(this.frontier);
        return lane.retireAfter === undefined ? end : Math.min(end, lane.retireAfter);
      },
      owns: (seq, data) => this.partitioner.laneOf(seq, data) === lane.index,
      span: () => this.partitioner.widest,
      acked: (ack) => this.onAcked(lane, ack),
    };
  }

  private onAcked(lane: StreamLane, ack: { upto: number; count: number; latencyMs: number }): void {
    lane.ackedSeq = ack.upto;
    if (ack.count > 0) {
      lane.recordsOut += ack.count;
      lane.rateOut.add(ack.count);
    }
    const before = this.frontier;
    this.frontier = Math.max(before, Math.min(...this.lanes.map((l) => l.ackedSeq)));
    if (this.frontier !== before) {
      const held = this.partitioner.readableUpTo(before);
      this.partitioner.forget(this.frontier);
      if (this.frontier >= held) this.wake(); // lanes held at a boundary go on
    }
    if (lane.retireAfter !== undefined) this.settle(lane);
    if (ack.count > 0 || this.frontier !== before) this.host.acked(ack.count, this.frontier, ack.latencyMs);
  }

  /** A retiring lane that acknowledged everything it owns up to its end closes. */
  private settle(lane: StreamLane): void {
    if (lane.retireAfter === undefined || lane.ackedSeq < lane.retireAfter) return;
    this.lanes = this.lanes.filter((l) => l !== lane);
    lane.sender.stop();
    lane.stream.removeAllListeners('state');
    const closing = lane.stream.close(5_000).catch(() => undefined);
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
    this.wake();
  }

  /** The furthest any lane has read: records after it have been read by no lane yet. */
  private readFront(): number {
    return Math.max(this.frontier, ...this.lanes.map((lane) => lane.sender.position));
  }
}
