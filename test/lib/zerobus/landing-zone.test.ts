import assert from 'node:assert/strict';
import { LandingZone, type IngestTicket, type PendingRequest } from '../../../lib/zerobus/landing-zone';
import { Backoff } from '../../../lib/zerobus/backoff';
import { LatencyWindow } from '../../../lib/zerobus/metrics';

function req(id: number, ticket: IngestTicket, records = 1): PendingRequest & { id: number } {
  return { id, buf: Buffer.alloc(0), bodyStart: 0, records, bytes: 10 * records, batch: records > 1, ticket, sentAt: 0 };
}
const ticket = (): IngestTicket => ({ seq: 0, remaining: 0, resolve() {}, reject() {} });

describe('zerobus landing zone', () => {
  it('sends in order with offsets from 0, pops cumulative acks, and resends the rest after a rewind', () => {
    const lz = new LandingZone();
    const t = ticket();
    for (let i = 0; i < 5; i++) lz.push(req(i, t, 2));
    assert.equal(lz.records, 10);
    assert.equal(lz.bytes, 100);
    const sent: [number, number][] = [];
    for (let i = 0; i < 4; i++) {
      sent.push([(lz.peekUnsent() as ReturnType<typeof req>).id, lz.nextOffset()]);
      lz.markSent(1);
    }
    assert.deepEqual(sent, [[0, 0], [1, 1], [2, 2], [3, 3]]);
    assert.equal(lz.highestSentOffset, 3);
    const acked: number[] = [];
    lz.ack(1, (r) => acked.push((r as ReturnType<typeof req>).id));
    assert.deepEqual(acked, [0, 1]);
    assert.equal(lz.lastAckedOffset, 1);
    assert.equal(lz.sentCount, 2);
    assert.equal(lz.records, 6);
    // the stream dies: the two unacked requests go first on the new stream, from offset 0
    lz.rewind();
    const resent: [number, number][] = [];
    while (lz.peekUnsent()) {
      resent.push([(lz.peekUnsent() as ReturnType<typeof req>).id, lz.nextOffset()]);
      lz.markSent(2);
    }
    assert.deepEqual(resent, [[2, 0], [3, 1], [4, 2]]);
    lz.ack(2, () => undefined);
    assert.equal(lz.length, 0);
    assert.equal(lz.records, 0);
    assert.equal(lz.bytes, 0);
  });

  it('keeps order over many pushes and acks (compaction)', () => {
    const lz = new LandingZone();
    const t = ticket();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) lz.push(req(next++, t));
      while (lz.peekUnsent()) lz.markSent(0);
      lz.ack(lz.highestSentOffset - 10, (r) => assert.equal((r as ReturnType<typeof req>).id, expected++));
    }
    assert.equal(lz.length, 10);
    assert.deepEqual(lz.drain().map((r) => (r as ReturnType<typeof req>).id), Array.from({ length: 10 }, (_, i) => expected + i));
  });
});

describe('zerobus backoff and latency window', () => {
  it('grows exponentially to the cap with bounded jitter and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.2 }, () => 1);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [120, 240, 480, 960, 1200, 1200]);
    b.reset();
    assert.equal(b.next(), 120);
    const low = new Backoff({ initialMs: 100, jitter: 0.2 }, () => 0);
    assert.equal(low.next(), 80);
  });

  it('reports percentiles of the most recent samples only', () => {
    const w = new LatencyWindow(100);
    assert.deepEqual(w.summary(), { p50: 0, p90: 0, p99: 0, max: 0 });
    for (let i = 1; i <= 100; i++) w.add(i);
    assert.deepEqual(w.summary(), { p50: 50, p90: 90, p99: 99, max: 100 });
    for (let i = 0; i < 100; i++) w.add(5);
    assert.deepEqual(w.summary(), { p50: 5, p90: 5, p99: 5, max: 5 });
  });
});
