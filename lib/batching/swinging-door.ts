/**
 * Swinging door trending (SDT) compression of one tag, as published by E. H. Bristol,
 * "Swinging Door Trending: Adaptive Trend Recording?", ISA National Conference, 1990, and
 * used by the OSIsoft PI archive as "compression deviation" (CompDev / CompMax).
 *
 * The archive keeps exact data points only. From the last archived point A two pivots are
 * placed at A ± deviation; every new point P rotates two "doors" hinged on those pivots:
 *   upper door slope = max over points since A of (vP − vA − E) / (tP − tA)
 *   lower door slope = min over points since A of (vP − vA + E) / (tP − tA)
 * Those are the bounds of every slope m for which a line from A stays within E of all the
 * points seen since A. While upper ≤ lower the doors are still closed enough (a corridor
 * exists) and the newest point is only held as the snapshot S. When a point P makes
 * upper > lower (the doors opened past parallel), the snapshot S — the last point before the
 * door opened — is archived, becomes the new A, and the doors restart from it with P.
 *
 * Beyond the published algorithm, as PI does: a change of quality or data type, a value that
 * is not a finite number, and a timestamp that does not advance all archive the held snapshot
 * and the new point itself. `maxIntervalMs` (CompMax) archives the snapshot when the new point
 * is more than that far (in event time) from the last archived point.
 */

export interface DoorPoint {
  /** event time, ms */
  t: number;
  /** numeric value; undefined when the value is not a finite number */
  v: number | undefined;
  /** quality and type class: points of different classes are never compressed together */
  cls: string;
}

/** What one offered point caused: points to archive (in time order) and points discarded. */
export interface DoorOutcome<T> {
  archive: T[];
  discard: T[];
}

export class SwingingDoor<T> {
  // Points are kept as fields rather than objects: a busy tag offers thousands of points a
  // second, and per-point allocations showed up as garbage-collection time in the bench.
  private hasArchive = false;
  private aT = 0;
  private aV: number | undefined = undefined;
  private aCls = '';
  private snapshot: T | undefined = undefined;
  private holdingSnapshot = false;
  private sT = 0;
  private sV: number | undefined = undefined;
  private sCls = '';
  private upper = -Infinity;
  private lower = Infinity;

  constructor(
    private readonly deviation: number,
    private readonly maxIntervalMs = 0,
  ) {
    if (!(deviation >= 0)) throw new RangeError('swinging door deviation must be >= 0');
  }

  /** true while a snapshot is held (neither archived nor discarded yet). */
  get holding(): boolean {
    return this.holdingSnapshot;
  }

  /** Offers the next point of the tag; fills `out` with what to archive and what to discard. */
  offer(p: DoorPoint, item: T, out: DoorOutcome<T>): void {
    if (!this.hasArchive) {
      this.archiveNew(p, item, out);
      return;
    }
    const holding = this.holdingSnapshot;
    const latestT = holding ? this.sT : this.aT;
    const latestCls = holding ? this.sCls : this.aCls;
    if (p.v === undefined || this.aV === undefined || p.cls !== latestCls || p.t <= latestT) {
      if (holding) out.archive.push(this.snapshot as T);
      this.archiveNew(p, item, out);
      return;
    }
    if (holding && this.maxIntervalMs > 0 && p.t - this.aT > this.maxIntervalMs) {
      this.archiveSnapshot(out);
    }
    this.swing(p.t, p.v, p.cls, item, out);
  }

  /** Archives the held snapshot now (forced: flush, hold limit, eviction); the doors restart from it. */
  release(): T | undefined {
    if (!this.holdingSnapshot) return undefined;
    const item = this.snapshot;
    this.promoteSnapshot();
    return item;
  }

  private swing(t: number, v: number, cls: string, item: T, out: DoorOutcome<T>): void {
    const av = this.aV as number;
    const dt = t - this.aT;
    const upper = Math.max(this.upper, (v - av - this.deviation) / dt);
    const lower = Math.min(this.lower, (v - av + this.deviation) / dt);
    if (upper > lower) {
      // The doors opened past parallel: no line from A fits every point up to P. The snapshot is
      // the last point that still fitted; it is archived and the doors restart from it with P.
      // (upper > lower cannot happen for the first point after A, so a snapshot exists here.)
      this.archiveSnapshot(out);
      const ndt = t - this.aT;
      this.upper = (v - (this.aV as number) - this.deviation) / ndt;
      this.lower = (v - (this.aV as number) + this.deviation) / ndt;
    } else {
      this.upper = upper;
      this.lower = lower;
      if (this.holdingSnapshot) out.discard.push(this.snapshot as T);
    }
    this.holdingSnapshot = true;
    this.snapshot = item;
    this.sT = t;
    this.sV = v;
    this.sCls = cls;
  }

  private archiveSnapshot(out: DoorOutcome<T>): void {
    out.archive.push(this.snapshot as T);
    this.promoteSnapshot();
  }

  /** The snapshot becomes the archived point A; the doors close again. */
  private promoteSnapshot(): void {
    this.archivedAt(this.sT, this.sV, this.sCls);
  }

  private archiveNew(p: DoorPoint, item: T, out: DoorOutcome<T>): void {
    out.archive.push(item);
    this.hasArchive = true;
    this.archivedAt(p.t, p.v, p.cls);
  }

  /** A new archived point A: no snapshot held, the doors closed. */
  private archivedAt(t: number, v: number | undefined, cls: string): void {
    this.aT = t;
    this.aV = v;
    this.aCls = cls;
    this.holdingSnapshot = false;
    this.snapshot = undefined;
    this.upper = -Infinity;
    this.lower = Infinity;
  }
}
