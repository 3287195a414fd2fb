/**
 * The contract both spool modes share, run against each: the zerobus-out node must behave the
 * same whichever spool its user picked.
 */
import assert from 'node:assert/strict';
import {
  createSpool,
  FRAME_OVERHEAD_BYTES,
  SpoolClosedError,
  SpoolFullError,
  type Spool,
  type SpoolDropEvent,
  type SpoolOptions,
} from '../../../lib/spool';
import { makeTempDir, payloadFor, payloads, readAll, removeDir } from './helpers';

const modes = ['disk', 'memory'] as const;

for (const mode of modes) {
  describe(`spool contract (${mode} mode)`, () => {
    const dirs: string[] = [];
    const spools: Spool[] = [];

    async function openSpool(opts: Omit<SpoolOptions, 'dir'> = {}): Promise<Spool> {
      let dir: string | undefined;
      if (mode === 'disk') {
        dir = makeTempDir();
        dirs.push(dir);
      }
      const spool = createSpool({ checkpointIntervalMs: 0, ...opts, dir });
      spools.push(spool);
      await spool.open();
      return spool;
    }

    afterEach(async () => {
      await Promise.all(spools.splice(0).map((s) => s.close()));
      dirs.splice(0).forEach(removeDir);
    });

    it('numbers records from 1 and reads them back in order, byte for byte', async () => {
      const spool = await openSpool();
      assert.deepEqual(await spool.append(payloads(1, 3)), { firstSeq: 1, lastSeq: 3 });
      assert.deepEqual(await spool.append(payloads(4, 2)), { firstSeq: 4, lastSeq: 5 });
      const records = await spool.readAfter(0, 100, 1 << 20);
      assert.deepEqual(
        records.map((r) => r.seq),
        [1, 2, 3, 4, 5],
      );
      for (const r of records) assert.deepEqual(r.data, payloadFor(r.seq));
      const s = spool.stats();
      assert.equal(s.mode, mode);
      assert.equal(s.backlogRecords, 5);
      assert.equal(s.backlogBytes, 5 * (payloadFor(1).length + FRAME_OVERHEAD_BYTES));
      assert.equal(s.firstSeq, 1);
      assert.equal(s.lastSeq, 5);
      assert.equal(s.appendedRecords, 5);
    });

    it('gives concurrent appends consecutive seq ranges in call order', async () => {
      const spool = await openSpool();
      const sizes = Array.from({ length: 60 }, (_, i) => 1 + (i % 7));
      let next = 1;
      const results = await Promise.all(
        sizes.map((n) => {
          const p = spool.append(payloads(next, n));
          next += n;
          return p;
        }),
      );
      let expected = 1;
      results.forEach((r, i) => {
        assert.deepEqual(r, { firstSeq: expected, lastSeq: expected + sizes[i] - 1 });
        expected += sizes[i];
      });
      const all = await readAll(spool);
      assert.equal(all.length, next - 1);
      all.forEach((r, i) => {
        assert.equal(r.seq, i + 1);
        assert.deepEqual(r.data, payloadFor(r.seq));
      });
    });

    it('readAfter returns only seqs after the one given, within maxRecords and maxBytes', async () => {
      const spool = await openSpool();
      await spool.append(payloads(1, 10, 100));
      assert.deepEqual(
        (await spool.readAfter(4, 3, 1 << 20)).map((r) => r.seq),
        [5, 6, 7],
      );
      // 250 bytes of payload fit two records of 100
      assert.deepEqual(
        (await spool.readAfter(0, 100, 250)).map((r) => r.seq),
        [1, 2],
      );
      // a record larger than maxBytes still comes alone, so a consumer never stalls
      assert.deepEqual(
        (await spool.readAfter(2, 100, 10)).map((r) => r.seq),
        [3],
      );
      assert.deepEqual(await spool.readAfter(10, 100, 1 << 20), []);
      assert.deepEqual(await spool.readAfter(0, 0, 1 << 20), []);
      assert.deepEqual(
        (await spool.readAfter(-5, 2, 1 << 20)).map((r) => r.seq),
        [1, 2],
      );
    });

    it('ack removes records up to the seq; later ones stay readable', async () => {
      const spool = await openSpool();
      await spool.append(payloads(1, 10));
      await spool.ack(4);
      assert.deepEqual(
        (await spool.readAfter(0, 100, 1 << 20)).map((r) => r.seq),
        [5, 6, 7, 8, 9, 10],
      );
      let s = spool.stats();
      assert.equal(s.ackedSeq, 4);
      assert.equal(s.backlogRecords, 6);
      assert.equal(s.firstSeq, 5);
      await spool.ack(2); // going backwards changes nothing
      assert.equal(spool.stats().ackedSeq, 4);
      await spool.ack(1000); // beyond what exists: clamped
      s = spool.stats();
      assert.equal(s.ackedSeq, 10);
      assert.equal(s.backlogRecords, 0);
      assert.equal(s.backlogBytes, 0);
      assert.equal(s.firstSeq, 11);
      assert.deepEqual(await spool.readAfter(0, 100, 1 << 20), []);
      // and seqs keep increasing after everything was acknowledged
      assert.deepEqual(await spool.append(payloads(11, 1)), { firstSeq: 11, lastSeq: 11 });
    });

    it("'block': refuses what does not fit, writes nothing of it, accepts again after an ack", async () => {
      const record = FRAME_OVERHEAD_BYTES + 40;
      const spool = await openSpool({ maxBytes: record * 10, overflow: 'block' });
      await spool.append(payloads(1, 8));
      assert.equal(spool.canAppend(40 * 2, 2), true);
      assert.equal(spool.canAppend(40 * 3, 3), false);
      await assert.rejects(spool.append(payloads(9, 3)), SpoolFullError);
      assert.equal(spool.stats().lastSeq, 8);
      assert.equal(spool.stats().backlogRecords, 8);
      await spool.append(payloads(9, 2));
      assert.equal(spool.canAppend(40), false);
      await assert.rejects(spool.append(payloads(11, 1)), (err: unknown) => {
        assert.ok(err instanceof SpoolFullError);
        assert.equal(err.code, 'SPOOL_FULL');
        return true;
      });
      await spool.ack(5);
      assert.equal(spool.canAppend(40 * 5, 5), true);
      assert.deepEqual(await spool.append(payloads(11, 5)), { firstSeq: 11, lastSeq: 15 });
      assert.deepEqual(
        (await readAll(spool)).map((r) => r.seq),
        [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
      );
    });

    it('a batch larger than maxBytes is refused under both policies', async () => {
      for (const overflow of ['block', 'drop-oldest'] as const) {
        const spool = await openSpool({ maxBytes: 1000, overflow });
        await spool.append(payloads(1, 2));
        assert.equal(spool.canAppend(2000), false);
        await assert.rejects(spool.append([Buffer.alloc(1000)]), SpoolFullError);
        assert.equal(spool.stats().backlogRecords, 2);
        assert.equal(spool.stats().droppedRecords, 0);
      }
    });

    it("'drop-oldest': drops the oldest records to make room and reports them", async () => {
      const record = FRAME_OVERHEAD_BYTES + 40;
      const spool = await openSpool({ maxBytes: record * 10, overflow: 'drop-oldest' });
      const drops: SpoolDropEvent[] = [];
      spool.on('drop', (e: SpoolDropEvent) => drops.push(e));
      await spool.append(payloads(1, 10));
      assert.equal(spool.canAppend(40 * 4, 4), true);
      await spool.append(payloads(11, 4));
      const s = spool.stats();
      assert.ok(s.droppedRecords >= 4, `dropped ${s.droppedRecords}`);
      assert.equal(
        drops.reduce((n, e) => n + e.records, 0),
        s.droppedRecords,
      );
      assert.ok(drops.every((e) => e.bytes >= e.records * record));
      assert.ok(s.backlogBytes <= record * 10);
      const left = await readAll(spool);
      assert.equal(left[0].seq, s.droppedRecords + 1, 'the oldest records are the ones gone');
      assert.equal(left[left.length - 1].seq, 14, 'the newest records are kept');
      for (const r of left) assert.deepEqual(r.data, payloadFor(r.seq));
      // a consumer that had read past the drop point keeps going
      assert.deepEqual(
        (await spool.readAfter(12, 10, 1 << 20)).map((r) => r.seq),
        [13, 14],
      );
    });

    it('keeps meta beside the log, as a copy', async () => {
      const spool = await openSpool();
      assert.equal(spool.readMeta(), undefined);
      const meta = { recordType: 'proto', table: 'main.ot.tag_events', nested: { v: 1 } };
      await spool.writeMeta(meta);
      meta.nested.v = 2;
      const read = spool.readMeta();
      assert.deepEqual(read, { recordType: 'proto', table: 'main.ot.tag_events', nested: { v: 1 } });
      (read as { nested: { v: number } }).nested.v = 3;
      assert.deepEqual(spool.readMeta()?.nested, { v: 1 });
      await assert.rejects(spool.writeMeta([] as unknown as Record<string, unknown>), TypeError);
    });

    it('rejects bad arguments without changing anything', async () => {
      const spool = await openSpool();
      await assert.rejects(spool.append('abc' as unknown as Buffer[]), TypeError);
      await assert.rejects(spool.append([Buffer.from('ok'), 'no' as unknown as Buffer]), TypeError);
      await assert.rejects(spool.readAfter(Number.NaN, 1, 1), TypeError);
      await assert.rejects(spool.ack('3' as unknown as number), TypeError);
      assert.deepEqual(await spool.append([]), { firstSeq: 1, lastSeq: 0 });
      assert.equal(spool.stats().lastSeq, 0);
      assert.equal(spool.stats().appendedRecords, 0);
    });

    it('rejects appends before open and after close; close is idempotent', async () => {
      const fresh = createSpool({ dir: mode === 'disk' ? makeTempDir() : undefined });
      if (mode === 'disk') dirs.push((fresh as unknown as { dir: string }).dir);
      await assert.rejects(fresh.append(payloads(1, 1)), SpoolClosedError);
      await fresh.close();
      await assert.rejects(fresh.open(), SpoolClosedError);

      const spool = await openSpool();
      await spool.append(payloads(1, 1));
      await Promise.all([spool.close(), spool.close()]);
      await spool.close();
      await assert.rejects(spool.append(payloads(2, 1)), SpoolClosedError);
      await assert.rejects(spool.readAfter(0, 1, 1), SpoolClosedError);
      await assert.rejects(spool.writeMeta({}), SpoolClosedError);
      await spool.ack(1); // a late ack after close is harmless
      assert.equal(spool.canAppend(1), false);
    });
  });
}
