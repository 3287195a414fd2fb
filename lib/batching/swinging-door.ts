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

interface Held<T> {
  p: DoorPoint;
  item: T;
}

export class SwingingDoor<T> {
  private archived: DoorPoint | undefined;
  private snapshot: Held<T> | undefined;
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
    return this.snapshot !== undefined;
  }

  /** Offers the next point of the tag; fills `out` with what to archive and what to discard. */
  offer(p: DoorPoint, item: T, out: DoorOutcome<T>): void {
    const a = this.archived;
    const s = this.snapshot;
    if (a === undefined) {
      this.archiveNew(p, item, out);
      return;
    }
    const latest = s ? s.p : a;
    if (p.v === undefined || a.v === undefined || p.cls !== latest.cls || p.t <= latest.t) {
      if (s) out.archive.push(s.item);
      this.archiveNew(p, item, out);
      return;
    }
    if (s && this.maxIntervalMs > 0 && p.t - a.t > this.maxIntervalMs) {
      this.archiveSnapshot(out);
    }
    this.swing(p, item, out);
  }

  /** Archives the held snapshot now (forced: flush, hold limit, eviction); the doors restart from it. */
  release(): T | undefined {
    const s = this.snapshot;
    if (!s) return undefined;
    this.archived = s.p;
    this.snapshot = undefined;
    this.upper = -Infinity;
    this.lower = Infinity;
    return s.item;
  }

  private swing(p: DoorPoint, item: T, out: DoorOutcome<T>): void {
    const a = this.archived as DoorPoint;
    const av = a.v as number;
    const pv = p.v as number;
    const dt = p.t - a.t;
    const upper = Math.max(this.upper, (pv - av - this.deviation) / dt);
    const lower = Math.min(this.lower, (pv - av + this.deviation) / dt);
    if (upper > lower) {
      // The doors opened past parallel: no line from A fits every point up to P. The snapshot is
      // the last point that still fitted; it is archived and the doors restart from it with P.
      // (upper > lower cannot happen for the first point after A, so a snapshot exists here.)
      this.archiveSnapshot(out);
      const na = this.archived as DoorPoint;
      const ndt = p.t - na.t;
      this.upper = (pv - (na.v as number) - this.deviation) / ndt;
      this.lower = (pv - (na.v as number) + this.deviation) / ndt;
    } else {
      this.upper = upper;
      this.lower = lower;
      if (this.snapshot) out.discard.push(this.snapshot.item);
    }
    this.snapshot = { p, item };
  }

  private archiveSnapshot(out: DoorOutcome<T>): void {
    const s = this.snapshot as Held<T>;
    out.archive.push(s.item);
    this.archived = s.p;
    this.snapshot = undefined;
    this.upper = -Infinity;
    this.lower = Infinity;
  }

  private archiveNew(p: DoorPoint, item: T, out: DoorOutcome<T>): void {
    out.archive.push(item);
    this.archived = p;
    this.snapshot = undefined;
    this.upper = -Infinity;
    this.lower = Infinity;
  }
}
