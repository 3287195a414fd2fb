import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { createSpool, DiskSpool, SpoolLockedError, type Spool, type SpoolOptions } from '../../../lib/spool';
import { FaultyFs, makeTempDir, payloadFor, payloads, readAll, removeDir, segmentFiles } from './helpers';

describe('disk spool', () => {
  let dir: string;
  const open: Spool[] = [];

  async function openSpool(opts: Omit<SpoolOptions, 'dir'> = {}): Promise<Spool> {
    const spool = createSpool({ checkpointIntervalMs: 0, ...opts, dir });
    open.push(spool);
    await spool.open();
    return spool;
  }

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    removeDir(dir);
  });

  it('creates its directory and names segments by their first seq', async () => {
    const root = dir;
    dir = path.join(root, 'nested', 'spool');
    try {
      const spool = await openSpool();
      await spool.append(payloads(1, 3));
      assert.deepEqual(segmentFiles(dir), ['00000000000000000001.seg']);
      await spool.close();
    } finally {
      dir = root; // afterEach removes the whole tree
    }
  });

  it('keeps records and continues seqs across a restart', async () => {
    let spool = await openSpool();
    await spool.append(payloads(1, 5));
    await spool.ack(2);
    await spool.close();

    spool = await openSpool();
    const recovered = spool.stats();
    assert.equal(recovered.ackedSeq, 2);
    assert.equal(recovered.backlogRecords, 3);
    assert.equal(recovered.lastSeq, 5);
    assert.deepEqual(
      (await readAll(spool)).map((r) => r.seq),
      [3, 4, 5],
    );
    assert.deepEqual(await spool.append(payloads(6, 2)), { firstSeq: 6, lastSeq: 7 });
    await spool.ack(7);
    await spool.close();

    // everything acknowledged: seqs still do not restart
    spool = await openSpool();
    assert.equal(spool.stats().backlogRecords, 0);
    assert.deepEqual(await spool.append(payloads(8, 1)), { firstSeq: 8, lastSeq: 8 });
  });

  it('open() reports what it recovered', async () => {
    let spool = await openSpool();
    await spool.append(payloads(1, 4));
    await spool.ack(1);
    await spool.close();
    spool = createSpool({ dir });
    open.push(spool);
    assert.deepEqual(await spool.open(), {
      records: 3,
      bytes: 3 * (payloadFor(2).length + 20),
      truncatedBytes: 0,
      corruptRecords: 0,
    });
  });

  it('an acknowledgement is on disk once ack() resolves', async () => {
    const spool = await openSpool();
    await spool.append(payloads(1, 5));
    await spool.ack(3);
    const checkpoint = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    assert.equal(checkpoint.ackedSeq, 3);
  });

  it('rolls segments at segmentBytes and deletes them once all their records are acknowledged', async () => {
    const spool = await openSpool({ segmentBytes: 1000 });
    for (let seq = 1; seq <= 100; seq += 10) await spool.append(payloads(seq, 10, 40)); // 600 bytes each
    assert.equal(segmentFiles(dir).length, 10);
    assert.equal(spool.stats().segments, 10);
    for (const name of segmentFiles(dir)) assert.ok(fs.statSync(path.join(dir, name)).size <= 1000);

    await spool.ack(35);
    assert.deepEqual(segmentFiles(dir).slice(0, 2), ['00000000000000000031.seg', '00000000000000000041.seg']);
    assert.equal(spool.stats().segments, 7);
    assert.deepEqual(
      (await spool.readAfter(0, 3, 1 << 20)).map((r) => r.seq),
      [36, 37, 38],
    );

    await spool.ack(100);
    // the segment being appended to goes too once all done: a small disk gets all its space back
    assert.deepEqual(segmentFiles(dir), []);
    assert.equal(spool.stats().backlogRecords, 0);
    await spool.append(payloads(101, 10, 40));
    assert.deepEqual(
      (await readAll(spool)).map((r) => r.seq),
      Array.from({ length: 10 }, (_, i) => 101 + i),
    );
    assert.deepEqual(segmentFiles(dir), ['00000000000000000101.seg']);
  });

  it('a concurrent burst is split at segment boundaries, never growing a segment far past segmentBytes', async () => {
    const spool = await openSpool({ segmentBytes: 4096 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(payloads(i * 5 + 1, 5, 60))));
    for (const name of segmentFiles(dir)) assert.ok(fs.statSync(path.join(dir, name)).size <= 4096, name);
    assert.equal((await readAll(spool)).length, 500);
  });

  it('a record larger than segmentBytes gets a segment of its own', async () => {
    const spool = await openSpool({ segmentBytes: 1000 });
    await spool.append(payloads(1, 2, 100));
    await spool.append([payloadFor(3, 5000)]);
    await spool.append(payloads(4, 2, 100));
    assert.equal(segmentFiles(dir).length, 3);
    const all = await readAll(spool);
    assert.deepEqual(
      all.map((r) => r.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(all[2].data, payloadFor(3, 5000));
  });

  it('reads keep working while acknowledged segments are deleted under them', async () => {
    const faulty = new FaultyFs();
    // no tail cache: these reads must go to the files being deleted
    const spool = await openSpool({ segmentBytes: 2000, fs: faulty, tailCacheBytes: 0 });
    for (let seq = 1; seq <= 300; seq += 30) await spool.append(payloads(seq, 30, 40));
    let release!: () => void;
    faulty.readGate = new Promise<void>((resolve) => (release = resolve));
    const readsBefore = faulty.reads;
    const reading = spool.readAfter(0, 300, 1 << 20);
    while (faulty.reads === readsBefore) await new Promise((r) => setImmediate(r));
    await spool.ack(200); // retires the first segments while the read is inside the first one
    assert.ok(!segmentFiles(dir).includes('00000000000000000001.seg'));
    release();
    faulty.readGate = undefined;
    const records = await reading;
    assert.equal(records.length, 300);
    for (const r of records) assert.deepEqual(r.data, payloadFor(r.seq, 40));
    assert.equal((await readAll(spool)).length, 100);
  });

  it('serves fresh records from the tail cache exactly as the files hold them, across writes, segments and eviction', async () => {
    const faulty = new FaultyFs();
    // a small cache and small segments: reads hit cached, partly cached and evicted ranges
    const spool = await openSpool({ segmentBytes: 3000, fs: faulty, tailCacheBytes: 2500 });
    for (let seq = 1; seq <= 400; seq += 8) {
      await spool.append(payloads(seq, 8, 20 + (seq % 50)));
      await spool.readAfter(seq + 6, 1, 1 << 20); // a sender keeping up: the cache stays on
    }
    const readsBefore = faulty.reads;
    const records = await readAll(spool, 13);
    assert.equal(records.length, 400);
    records.forEach((r, i) => {
      assert.equal(r.seq, i + 1);
      assert.deepEqual(r.data, payloadFor(r.seq, 20 + ((r.seq - 1 - ((r.seq - 1) % 8) + 1) % 50)));
    });
    assert.ok(faulty.reads > readsBefore, 'older records came from the files');
    // the newest records come from memory: reading them again touches no file
    const tailReads = faulty.reads;
    const newest = await spool.readAfter(395, 5, 1 << 20);
    assert.deepEqual(newest.map((r) => r.seq), [396, 397, 398, 399, 400]);
    assert.equal(faulty.reads, tailReads);
  });

  it('pauses the tail cache while the sender is behind everything cached, and resumes once it caught up', async () => {
    const faulty = new FaultyFs();
    const spool = await openSpool({ segmentBytes: 1 << 20, fs: faulty, tailCacheBytes: 2500 });
    // nobody reads: after the cache's first eviction it holds nothing
    for (let seq = 1; seq <= 400; seq += 8) await spool.append(payloads(seq, 8, 40));
    let reads = faulty.reads;
    assert.deepEqual((await spool.readAfter(399, 1, 1 << 20)).map((r) => r.seq), [400]);
    assert.equal(faulty.reads, reads + 1, 'the newest record came from the file: nothing was cached');
    // a write after the sender caught up is cached again
    assert.equal((await readAll(spool, 50)).length, 400);
    await spool.append(payloads(401, 8, 40));
    await spool.append(payloads(409, 8, 40));
    reads = faulty.reads;
    const fresh = await spool.readAfter(400, 16, 1 << 20);
    assert.deepEqual(fresh.map((r) => r.seq), Array.from({ length: 16 }, (_, i) => 401 + i));
    for (const r of fresh) assert.deepEqual(r.data, payloadFor(r.seq, 40));
    assert.equal(faulty.reads, reads, 'served from memory');
  });

  describe('group commit', () => {
    it('coalesces concurrent appends into far fewer writes and fsyncs', async () => {
      const spool = await openSpool();
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append([payloadFor(i + 1)])));
      assert.deepEqual(
        results.map((r) => r.firstSeq),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      const s = spool.stats();
      assert.ok(s.fsyncs <= 3, `200 appends cost ${s.fsyncs} fsyncs`);
      assert.ok(s.writes <= 3, `200 appends cost ${s.writes} writes`);
      assert.equal(s.fsyncs, s.writes);
    });

    it('without group commit every append pays its own write and fsync (the baseline)', async () => {
      const spool = await openSpool({ groupCommit: false });
      await Promise.all(Array.from({ length: 20 }, (_, i) => spool.append([payloadFor(i + 1)])));
      assert.equal(spool.stats().fsyncs, 20);
      assert.equal((await readAll(spool)).length, 20);
    });

    it('with fsync off nothing is synced', async () => {
      const spool = await openSpool({ fsync: false });
      await Promise.all(Array.from({ length: 20 }, (_, i) => spool.append([payloadFor(i + 1)])));
      assert.equal(spool.stats().fsyncs, 0);
      assert.equal((await readAll(spool)).length, 20);
    });

    it('append resolves only after its bytes were fsynced, and only then are they readable', async () => {
      const faulty = new FaultyFs();
      let release!: () => void;
      faulty.datasyncGate = new Promise<void>((resolve) => (release = resolve));
      const spool = await openSpool({ fs: faulty });
      const order: string[] = [];
      const syncStarted = new Promise<void>((resolve) => {
        faulty.onDatasync = (phase) => {
          order.push(`datasync ${phase}`);
          if (phase === 'started') resolve();
        };
      });
      const appended = spool.append(payloads(1, 3)).then((r) => {
        order.push('append resolved');
        return r;
      });
      await syncStarted;
      // held in its fsync: not visible to readers yet
      assert.deepEqual(await spool.readAfter(0, 10, 1 << 20), [], 'readable before it was durable');
      assert.equal(spool.stats().pendingRecords, 3);
      release();
      assert.deepEqual(await appended, { firstSeq: 1, lastSeq: 3 });
      assert.deepEqual(order, ['datasync started', 'datasync done', 'append resolved'], 'resolved before fsync completed');
      assert.equal((await spool.readAfter(0, 10, 1 << 20)).length, 3);
    });
  });

  it('coalesces many acknowledgements into a few checkpoint writes', async () => {
    const spool = await openSpool({ checkpointIntervalMs: 50 });
    await spool.append(payloads(1, 1000));
    const acks: Promise<void>[] = [];
    for (let seq = 1; seq <= 1000; seq++) acks.push(spool.ack(seq));
    await Promise.all(acks);
    const s = spool.stats();
    assert.equal(s.ackedSeq, 1000);
    assert.ok(s.checkpointWrites <= 2, `${s.checkpointWrites} checkpoint writes for 1000 acks`);
  });

  it('close() waits for pending appends and flushes the last acknowledgement', async () => {
    let spool = await openSpool({ checkpointIntervalMs: 60_000 });
    await spool.append(payloads(1, 10));
    await spool.ack(1); // the first checkpoint write starts at once
    void spool.ack(4); // this one waits for the interval...
    const pending = spool.append(payloads(11, 5));
    await spool.close(); // ...which close does not
    assert.deepEqual(await pending, { firstSeq: 11, lastSeq: 15 });

    spool = await openSpool();
    assert.equal(spool.stats().ackedSeq, 4);
    assert.deepEqual(
      (await readAll(spool)).map((r) => r.seq),
      [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    );
  });

  it('refuses a second spool on the same directory while the first is open', async () => {
    const first = await openSpool();
    const second = new DiskSpool(dir);
    await assert.rejects(second.open(), SpoolLockedError);
    await first.close();
    const third = await openSpool();
    assert.equal(third.stats().mode, 'disk');
  });

  it('keeps the index small: a few bytes per record, no payloads', async () => {
    const spool = await openSpool({ fsync: false });
    for (let seq = 1; seq <= 50_000; seq += 500) await spool.append(payloads(seq, 500, 150));
    const s = spool.stats();
    assert.equal(s.backlogRecords, 50_000);
    assert.ok(s.indexBytes < 50_000 * 12, `index of ${s.indexBytes} bytes`);
    assert.equal(s.diskBytes, 50_000 * 170);
  });

  it("'drop-oldest' gives up whole old segments, deletes their files, and they stay dropped after a restart", async () => {
    const frame = 60; // 40-byte payloads
    let spool = await openSpool({ segmentBytes: 10 * frame, maxBytes: 30 * frame, overflow: 'drop-oldest' });
    const drops: number[] = [];
    spool.on('drop', (e: { records: number }) => drops.push(e.records));
    for (let seq = 1; seq <= 30; seq += 10) await spool.append(payloads(seq, 10));
    assert.equal(segmentFiles(dir).length, 3);
    await spool.append(payloads(31, 5)); // needs room: segment 1..10 goes as a whole
    assert.deepEqual(drops, [10]);
    assert.equal(spool.stats().droppedRecords, 10);
    assert.equal(spool.stats().ackedSeq, 0, 'dropping is not acknowledging');
    assert.deepEqual(
      (await readAll(spool)).map((r) => r.seq),
      Array.from({ length: 25 }, (_, i) => 11 + i),
    );
    await spool.close(); // writes the checkpoint that records the drop
    assert.ok(!segmentFiles(dir).includes('00000000000000000001.seg'), 'the dropped segment file is deleted');

    spool = await openSpool({ segmentBytes: 10 * frame, maxBytes: 30 * frame, overflow: 'drop-oldest' });
    assert.equal((await readAll(spool))[0].seq, 11);
    assert.equal(spool.stats().backlogRecords, 25);
  });

  it('keeps meta across restarts', async () => {
    let spool = await openSpool();
    await spool.writeMeta({ recordType: 'json', descriptor: 'abc' });
    await spool.close();
    spool = await openSpool();
    assert.deepEqual(spool.readMeta(), { recordType: 'json', descriptor: 'abc' });
  });
});
