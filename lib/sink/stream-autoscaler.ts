/**
 * When `streams: 'auto'` opens or closes a stream. Zerobus limits each stream (records/s and
 * bytes/s); a stream at its quota answers slower, so its in-flight window stays full and the
 * spool backlog grows. One more stream is opened when every stream is open and the backlog has
 * stayed above a batch's worth without shrinking for a few seconds; the rate per stream at that
 * moment is remembered as what one stream carries. A backlog being worked off (a restart after
 * an outage) also gets one more stream while it would take longer than `drainWithin` at the
 * current rate, as long as the last stream added raised the rate (the quota binds, not the
 * CPU: then one more stream would add nothing). A stream is closed again once the backlog has
 * stayed small for half a minute and the rate fits comfortably in one stream fewer. Decisions are
 * spaced out, so a burst does not make the count swing.
 */

export interface AutoscaleSample {
  now: number;
  /** records spooled and not yet acknowledged */
  backlog: number;
  /** acknowledged records per second, all streams */
  rateOut: number;
  /** streams running now */
  streams: number;
  /** every stream is open (a stream that is down needs a reconnect, not a sibling) */
  allOpen: boolean;
}

export interface AutoscaleOptions {
  maxStreams: number;
  /** a backlog up to this is no sign of a binding quota (about a batch) */
  smallBacklog: number;
  /** how long the backlog must grow before a stream is added (ms) */
  growFor?: number;
  /** how long the load must stay low before a stream is closed (ms) */
  idleFor?: number;
  /** a backlog that would take longer than this to work off at the current rate wants another stream (ms) */
  drainWithin?: number;
  /** least time between two changes (ms) */
  settle?: number;
}

export const AUTOSCALE_DEFAULTS = { growFor: 3_000, idleFor: 30_000, settle: 5_000, drainWithin: 30_000 };

/** Share of the remembered per-stream rate the remaining streams may carry after a close. */
const HEADROOM = 0.7;
/**
 * Share of the per-stream rate of the last addition each stream must still carry for another
 * addition to help a drain: with the CPU binding, n+1 streams carry what n did (n/(n+1) each).
 */
const ADDED_STREAM_HELPED = 0.8;

export class StreamAutoscaler {
  private readonly growFor: number;
  private readonly idleFor: number;
  private readonly settle: number;
  private readonly drainWithin: number;
  /** since when the backlog would take longer than drainWithin to work off */
  private slowDrainSince: number | undefined;
  /** acknowledged records/s per stream when the last stream was added */
  private perStreamAtLastAdd: number | undefined;
  /** when the backlog began to stay above smallBacklog without shrinking, and its lowest value since */
  private growingSince: number | undefined;
  private growingFrom = 0;
  /** since when the backlog has been small and the rate would fit in one stream fewer */
  private quietSince: number | undefined;
  private lastChange = -Infinity;
  /** acknowledged records/s one stream carried when the last stream was added */
  private perStream: number | undefined;

  constructor(private readonly opts: AutoscaleOptions) {
    this.growFor = opts.growFor ?? AUTOSCALE_DEFAULTS.growFor;
    this.idleFor = opts.idleFor ?? AUTOSCALE_DEFAULTS.idleFor;
    this.settle = opts.settle ?? AUTOSCALE_DEFAULTS.settle;
    this.drainWithin = opts.drainWithin ?? AUTOSCALE_DEFAULTS.drainWithin;
  }

  /** +1: open a stream; -1: close one; 0: keep the count. Called about once a second. */
  decide(s: AutoscaleSample): -1 | 0 | 1 {
    this.track(s);
    if (s.now - this.lastChange < this.settle) return 0;
    const lasted = (since: number | undefined) => since !== undefined && s.now - since >= this.growFor;
    if ((lasted(this.growingSince) || lasted(this.slowDrainSince)) && s.streams < this.opts.maxStreams && s.allOpen) {
      this.perStream = Math.max(this.perStream ?? 0, s.rateOut / s.streams);
      this.perStreamAtLastAdd = s.rateOut / s.streams;
      return this.changed(s.now, 1);
    }
    if (this.quietSince !== undefined && s.now - this.quietSince >= this.idleFor && s.streams > 1) return this.changed(s.now, -1);
    return 0;
  }

  private track(s: AutoscaleSample): void {
    const slowDrain = s.backlog > this.opts.smallBacklog && s.rateOut > 0 && (s.backlog / s.rateOut) * 1000 > this.drainWithin;
    const addingHelps = this.perStreamAtLastAdd === undefined || s.rateOut / s.streams >= this.perStreamAtLastAdd * ADDED_STREAM_HELPED;
    if (slowDrain && addingHelps) this.slowDrainSince ??= s.now;
    else this.slowDrainSince = undefined;
    if (s.backlog > this.opts.smallBacklog) {
      this.quietSince = undefined;
      // growing: not below where it started (a backlog being worked off is not a quota sign)
      if (this.growingSince === undefined || s.backlog < this.growingFrom) {
        this.growingSince = s.now;
        this.growingFrom = s.backlog;
      }
      return;
    }
    this.growingSince = undefined;
    // without a measured capacity only an idle table gives a stream back
    const fits = this.perStream === undefined ? s.rateOut === 0 : s.rateOut <= this.perStream * (s.streams - 1) * HEADROOM;
    if (!fits) this.quietSince = undefined;
    else this.quietSince ??= s.now;
  }

  private changed(now: number, step: -1 | 1): -1 | 1 {
    this.lastChange = now;
    this.growingSince = undefined;
    this.slowDrainSince = undefined;
    this.quietSince = undefined;
    return step;
  }
}
