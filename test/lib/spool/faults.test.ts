/**
 * Disk errors: the affected appends fail with the error, the log stays well-formed, and the
 * spool works again once the disk does.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { createSpool, type Spool, type SpoolOptions } from '../../../lib/spool';
import { FaultyFs, makeTempDir, payloadFor, payloads, readAll, removeDir, segmentFiles } from './helpers';

describe('spool disk errors', () => {
  let dir: string;
  let faulty: FaultyFs;
  const spools: Spool[] = [];

  async function openSpool(opts: Omit<SpoolOptions, 'dir' | 'fs'> = {}, withFs: FaultyFs | undefined = faulty): Promise<Spool> {
    const spool = createSpool({ checkpointIntervalMs: 0, ...opts, dir, fs: withFs });
    spools.push(spool);
    await spool.open();
    return spool;
  }

  /** reopens with the plain file system and checks the log is exactly these seqs, with no tail to cut */
  async function assertCleanLog(spool: Spool, seqs: number[]): Promise<void> {
    await spool.close();
    const reopened = createSpool({ dir });
    spools.push(reopened);
    const result = await reopened.open();
    assert.equal(result.truncatedBytes, 0, 'no partial frame was left behind');
    assert.equal(result.corruptRecords, 0);
    const records = await readAll(reopened);
    assert.deepEqual(
      records.map((r) => r.seq),
      seqs,
    );
    for (const r of records) assert.deepEqual(r.data, payloadFor(r.seq));
  }

  const codeIs = (code: string) => (err: unknown) => {
    assert.equal((err as NodeJS.ErrnoException).code, code);
    return true;
  };

  beforeEach(() => {
    dir = makeTempDir('spool-faults-');
    faulty = new FaultyFs();
  });

  afterEach(async () => {
    await Promise.all(spools.splice(0).map((s) => s.close()));
    removeDir(dir);
  });

  it('ENOSPC after a partial write: the append fails, the partial bytes are cut, the next append reuses the seqs', async () => {
    const spool = await openSpool();
    await spool.append(payloads(1, 5));
    faulty.fail('write', 'ENOSPC', { partialBytes: 70 });
    await assert.rejects(spool.append(payloads(6, 5)), codeIs('ENOSPC'));
    const [segment] = segmentFiles(dir);
    assert.equal(fs.statSync(path.join(dir, segment)).size, spool.stats().diskBytes, 'cut back to the last good frame');
    assert.equal(spool.stats().lastSeq, 5);
    assert.equal(spool.stats().pendingRecords, 0);
    assert.deepEqual(await spool.append(payloads(6, 3)), { firstSeq: 6, lastSeq: 8 });
    await assertCleanLog(spool, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('every append coalesced into a failed write gets the error; later ones succeed', async () => {
    const spool = await openSpool();
    let release!: () => void;
    faulty.datasyncGate = new Promise<void>((resolve) => (release = resolve));
    const first = spool.append(payloads(1, 1)); // in flight, held at fsync
    while (faulty.calls.datasync === 0) await new Promise((r) => setImmediate(r));
    faulty.fail('write', 'ENOSPC');
    const coalesced = [spool.append(payloads(2, 2)), spool.append(payloads(4, 2))]; // one group, one failing write
    release();
    faulty.datasyncGate = undefined;
    assert.deepEqual(await first, { firstSeq: 1, lastSeq: 1 });
    const outcomes = await Promise.allSettled(coalesced);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    assert.deepEqual(await spool.append(payloads(2, 1)), { firstSeq: 2, lastSeq: 2 });
    await assertCleanLog(spool, [1, 2]);
  });

  it('EIO from fdatasync: the append fails and its bytes are not kept', async () => {
    const spool = await openSpool();
    await spool.append(payloads(1, 2));
    faulty.fail('datasync', 'EIO');
    await assert.rejects(spool.append(payloads(3, 4)), codeIs('EIO'));
    assert.deepEqual(await spool.readAfter(2, 10, 1 << 20), [], 'nothing of the failed append is readable');
    assert.deepEqual(await spool.append(payloads(3, 1)), { firstSeq: 3, lastSeq: 3 });
    await assertCleanLog(spool, [1, 2, 3]);
  });

  it('stays refused while the disk keeps failing (even the repair), and works again once it recovers', async () => {
    const spool = await openSpool();
    await spool.append(payloads(1, 2));
    faulty.fail('write', 'EIO', { partialBytes: 30 });
    faulty.fail('truncate', 'EIO', { times: 2 });
    await assert.rejects(spool.append(payloads(3, 2)), codeIs('EIO')); // write fails, repair fails
    await assert.rejects(spool.append(payloads(3, 2)), codeIs('EIO')); // repair before writing fails again
    faulty.heal();
    assert.deepEqual(await spool.append(payloads(3, 2)), { firstSeq: 3, lastSeq: 4 });
    await assertCleanLog(spool, [1, 2, 3, 4]);
  });

  it('ENOSPC when creating a new segment fails only that append', async () => {
    const spool = await openSpool({ segmentBytes: 300 });
    await spool.append(payloads(1, 4)); // 240 bytes
    faulty.fail('open', 'ENOSPC');
    await assert.rejects(spool.append(payloads(5, 2)), codeIs('ENOSPC'));
    assert.deepEqual(await spool.append(payloads(5, 2)), { firstSeq: 5, lastSeq: 6 });
    assert.equal(segmentFiles(dir).length, 2);
    await assertCleanLog(spool, [1, 2, 3, 4, 5, 6]);
  });

  it('a failed checkpoint write rejects the ack and keeps the records; the next ack retries', async () => {
    const spool = await openSpool();
    await spool.append(payloads(1, 5));
    faulty.fail('rename', 'ENOSPC');
    await assert.rejects(spool.ack(3), codeIs('ENOSPC'));
    await spool.ack(4);
    await assertCleanLog(spool, [5]);
  });

  it('a failed open() releases the directory so that it can be opened again', async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '00000000000000000001.seg'), Buffer.alloc(10));
    faulty.fail('open', 'EACCES');
    const spool = createSpool({ dir, fs: faulty });
    spools.push(spool);
    await assert.rejects(spool.open(), codeIs('EACCES'));
    const again = await openSpool();
    assert.equal(again.stats().backlogRecords, 0);
  });
});
