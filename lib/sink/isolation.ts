/**
 * Without a schema the sink cannot check rows before sending, and Zerobus ends the whole stream
 * when one record does not fit (INVALID_ARGUMENT). The records of the failed range are then
 * sent one per request: a record refused alone is a suspect, confirmed as "never fits" (and
 * released from the spool) only once a later record was accepted — so a table that refuses
 * everything (a schema mismatch) never loses data: after a few suspects in a row it is a final
 * error like any other.
 */
export interface Suspect {
  seq: number;
  reason: string;
  data: Buffer;
}

export const MAX_SUSPECTS_IN_A_ROW = 5;

export class RecordIsolation {
  private suspects: Suspect[] = [];

  /** `untilSeq`: the last record handed to the stream when the request was refused. */
  constructor(private readonly untilSeq: number) {}

  isSuspect(seq: number): boolean {
    return this.suspects.some((x) => x.seq === seq);
  }

  /** A record refused alone; false once too many in a row were refused (the table refuses everything). */
  addSuspect(suspect: Suspect): boolean {
    this.suspects.push(suspect);
    return this.suspects.length < MAX_SUSPECTS_IN_A_ROW;
  }

  /**
   * Records up to `upto` were accepted: the suspects before them never fit (returned, to be
   * reported and released). `done`: the refused range is behind us.
   */
  confirm(upto: number): { refused: Suspect[]; done: boolean } {
    const refused = this.suspects.filter((x) => x.seq < upto);
    this.suspects = this.suspects.filter((x) => x.seq > upto);
    return { refused, done: upto >= this.untilSeq && this.suspects.length === 0 };
  }
}
