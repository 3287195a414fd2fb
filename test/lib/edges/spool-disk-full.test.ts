/**
 * A full disk: appends are refused (canAppend false, append fails fast) while records keep being
 * read and acknowledged; acknowledging frees the segments before the checkpoint is written, so
 * the spool recovers by itself. Through the injectable file system always, and on a real 64 KiB
 * tmpfs where this process may mount one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { createSpool, SpoolDiskFullError, type Spool } from '../../../lib/spool';
import { FaultyFs, makeTempDir, payloads, readAll, removeDir } from '../spool/helpers';

/** Appends batches until the disk refuses one; returns the seq of the last record appended. */
async function fillUp(spool: Spool, size: number): Promise<{ last: number; error: unknown }> {
  let seq = 1;
  for (;;) {
    try {
      const r = await spool.append(payloads(seq, 10, size));
      seq = r.lastSeq + 1;
    } catch (error) {
      return { last: seq - 1, error };
    }
  }
}

describe('spool on a full disk', function () {
  this.timeout(30_000);

  it('refuses appends, keeps reading, frees acknowledged space before the checkpoint, and recovers (injected ENOSPC)', async () => {
    const dir = makeTempDir('spool-enospc-');
    const faulty = new FaultyFs();
    const spool = createSpool({ dir, fs: faulty, segmentBytes: 4096, checkpointIntervalMs: 0 });
    try {
      await spool.open();
      await spool.append(payloads(1, 30, 200));
      // the disk is full: every write and every new file fails
      faulty.fail('write', 'ENOSPC', { times: 1000 });
      faulty.fail('open', 'ENOSPC', { times: 1000 });
      const refused = await spool.append(payloads(31, 1, 200)).catch((e: unknown) => e);
      assert.ok(refused instanceof SpoolDiskFullError, String(refused));
      assert.equal((refused as SpoolDiskFullError).code, 'ENOSPC');
      assert.equal(spool.canAppend(200), false, 'a full disk refuses before the caller sends');
      assert.equal(spool.stats().diskFull, true);
      // sending goes on: the records are still readable
      assert.equal((await readAll(spool)).length, 30);
      // the ack deletes done segments first; the checkpoint (a new temp file) fails while the disk is full
      const segmentsBefore = spool.stats().segments;
      await spool.ack(30).catch(() => undefined);
      assert.ok(spool.stats().segments < segmentsBefore, 'acknowledged segments were deleted although the checkpoint could not be written');
      assert.equal(spool.canAppend(200), true, 'freed space lets appends try again');
      faulty.heal();
      assert.deepEqual(await spool.append(payloads(31, 2, 200)), { firstSeq: 31, lastSeq: 32 });
      await spool.ack(31);
      await spool.close();
      const reopened = createSpool({ dir });
      await reopened.open();
      assert.deepEqual((await readAll(reopened)).map((r) => r.seq), [32]);
      await reopened.close();
    } finally {
      removeDir(dir);
    }
  });

  it('recovers by itself on a real 64 KiB file system', async function () {
    const mountPoint = makeTempDir('spool-tmpfs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (err) {
      removeDir(mountPoint);
      console.log(`      skipped: cannot mount a 64 KiB tmpfs here (${(err as Error).message.split('\n')[0]})`);
      this.skip();
    }
    const dir = path.join(mountPoint, 'spool');
    const opened: Spool[] = [];
    try {
      const gated = new FaultyFs(); // the real file system, with a way to hold a commit mid-write
      // one segment: it is the one being appended to, the case where nothing else frees space
      const spool = createSpool({ dir, fs: gated, segmentBytes: 1 << 20, checkpointIntervalMs: 0 });
      opened.push(spool);
      await spool.open();
      const { last, error } = await fillUp(spool, 500);
      assert.ok(error instanceof SpoolDiskFullError, `expected ENOSPC, got ${String(error)}`);
      assert.ok(last > 50, `only ${last} records fit`);
      assert.equal(spool.canAppend(500), false);
      // everything appended is still there to send; the acknowledgement of all of it arrives
      // while an append is being written, so it cannot delete the segment being written to, and
      // no other acknowledgement follows: the next append frees the space itself
      assert.equal((await readAll(spool, 1000)).length, last);
      let release!: () => void;
      gated.segmentWriteGate = new Promise<void>((resolve) => (release = resolve));
      const inFlight = spool.append(payloads(last + 1, 10, 3000)).then(() => 10, () => 0);
      try {
        await spool.ack(last).catch(() => undefined); // its checkpoint may or may not find room
        assert.ok(spool.stats().segments > 0, 'the segment being written stays while it is written');
      } finally {
        gated.segmentWriteGate = undefined;
        release();
      }
      const kept = await inFlight;
      if (kept) await spool.ack(last + kept); // sent and acknowledged too
      const again = await spool.append(payloads(last + kept + 1, 10, 500));
      assert.equal(again.firstSeq, last + kept + 1);
      await spool.close();
      const reopened = createSpool({ dir });
      opened.push(reopened);
      assert.equal((await reopened.open()).records, 10);
      await reopened.close();
    } finally {
      await Promise.allSettled(opened.map((s) => s.close()));
      execFileSync('umount', [mountPoint]);
      removeDir(mountPoint);
    }
  });
});
