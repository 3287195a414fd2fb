/**
 * Which of the sink's streams ("lanes") owns each spooled record. The lane count may change
 * while records flow (streams 'auto'); a change takes effect after a boundary sequence B: the
 * records up to B keep the old count, those after it use the new one, and no lane reads past
 * B before every record up to B is acknowledged. So a tag that moves to another stream never
 * overtakes its own earlier values still in flight on the old one.
 */
import type { PartitionKeyReader } from './partition-key';

interface Layout {
  /** first sequence this layout applies to */
  fromSeq: number;
  lanes: number;
}

/** Keys remembered per sequence (a power of two): every lane reads every record, one reads its key. */
const KEY_CACHE_SIZE = 1 << 16;

export class Partitioner {
  /** oldest first; only the layouts a record still waiting can need are kept */
  private layouts: Layout[];

  /** the key of the record `seq` at seq % size (NaN: none), valid where keySeqs holds seq; made with a second lane */
  private keySeqs: Float64Array | undefined;
  private keys: Float64Array | undefined;

  constructor(lanes: number, fromSeq: number, private readonly keyOf: PartitionKeyReader | undefined) {
    this.layouts = [{ fromSeq, lanes }];
  }

  /** The most lanes any kept layout has: how many batches' worth a lane reads to fill one. */
  get widest(): number {
    let widest = 1;
    for (const layout of this.layouts) widest = Math.max(widest, layout.lanes);
    return widest;
  }

  /** The lane count for records after `boundary`. */
  resize(lanes: number, boundary: number): void {
    const last = this.layouts[this.layouts.length - 1];
    if (last.fromSeq > boundary) last.lanes = lanes; // no record read under it yet
    else if (last.lanes !== lanes) this.layouts.push({ fromSeq: boundary + 1, lanes });
  }

  /** Layouts older than what every lane has acknowledged are of no more use. */
  forget(frontier: number): void {
    while (this.layouts.length > 1 && this.layouts[1].fromSeq <= frontier + 1) this.layouts.shift();
  }

  /**
   * The lane of the record `seq` (its bytes give the key). Every lane reads the spool on its
   * own, so this depends on the record alone: a record without key goes round robin by its seq.
   */
  laneOf(seq: number, data: Buffer): number {
    const lanes = this.lanesAt(seq);
    if (lanes === 1) return 0;
    const key = this.keyAt(seq, data);
    return (key === key ? key : seq) % lanes;
  }

  /** The record's key (NaN: it has none), read once for all lanes. */
  private keyAt(seq: number, data: Buffer): number {
    if (!this.keyOf) return NaN;
    this.keySeqs ??= new Float64Array(KEY_CACHE_SIZE).fill(-1);
    this.keys ??= new Float64Array(KEY_CACHE_SIZE);
    const i = seq & (KEY_CACHE_SIZE - 1);
    if (this.keySeqs[i] === seq) return this.keys[i];
    const key = this.keyOf(data) ?? NaN;
    this.keySeqs[i] = seq;
    this.keys[i] = key;
    return key;
  }

  /**
   * The last sequence a lane may read now: the end of the layout `frontier` is in, or, once
   * every record up to that end is acknowledged, the next layout's end (Infinity at the newest).
   */
  readableUpTo(frontier: number): number {
    for (let i = 1; i < this.layouts.length; i++) {
      const boundary = this.layouts[i].fromSeq - 1;
      if (frontier < boundary) return boundary;
    }
    return Infinity;
  }

  /** The lane count for `seq`. */
  lanesAt(seq: number): number {
    let lanes = this.layouts[0].lanes;
    for (let i = 1; i < this.layouts.length && this.layouts[i].fromSeq <= seq; i++) lanes = this.layouts[i].lanes;
    return lanes;
  }
}
