/**
 * What open() finds after a crash or a damaged disk: torn tails, garbage, flipped bits,
 * leftovers of interrupted operations.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { createSpool, FRAME_OVERHEAD_BYTES, type Spool, type SpoolOptions } from '../../../lib/spool';
import { makeTempDir, payloadFor, payloads, readAll, removeDir, segmentFiles } from './helpers';

const SIZE = 40;
const FRAME = FRAME_OVERHEAD_BYTES + SIZE;
/** the payload follows the magic and the length */
const PAYLOAD_AT = 8;

describe('spool recovery', () => {
  const dirs: string[] = [];
  const spools: Spool[] = [];

  function tempDir(): string {
    const dir = makeTempDir('spool-recovery-');
    dirs.push(dir);
    return dir;
  }

  async function openAt(dir: string, opts: Omit<SpoolOptions, 'dir'> = {}): Promise<{ spool: Spool; result: Awaited<ReturnType<Spool['open']>> }> {
    const spool = createSpool({ checkpointIntervalMs: 0, ...opts, dir });
    spools.push(spool);
    const result = await spool.open();
    return { spool, result };
  }

  async function closeAll(): Promise<void> {
    await Promise.all(spools.splice(0).map((s) => s.close()));
  }

  /** a closed spool dir holding records 1..count */
  async function writeLog(count: number, opts: Omit<SpoolOptions, 'dir'> = {}): Promise<string> {
    const dir = tempDir();
    const { spool } = await openAt(dir, opts);
    for (let seq = 1; seq <= count; seq += 10) await spool.append(payloads(seq, Math.min(10, count - seq + 1), SIZE));
    await closeAll();
    return dir;
  }

  function assertIntact(records: { seq: number; data: Buffer }[], seqs: number[]): void {
    assert.deepEqual(
      records.map((r) => r.seq),
      seqs,
    );
    for (const r of records) assert.deepEqual(r.data, payloadFor(r.seq, SIZE));
  }

  const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  afterEach(async () => {
    await closeAll();
    dirs.splice(0).forEach(removeDir);
  });

  it('cuts a torn last frame at every byte offset, keeping every complete record', async () => {
    const source = await writeLog(20);
    const [segment] = segmentFiles(source);
    const full = fs.readFileSync(path.join(source, segment));
    assert.equal(full.length, 20 * FRAME);
    const lastStart = full.length - FRAME;
    for (let cut = lastStart; cut < full.length; cut++) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, segment), full.subarray(0, cut));
      const { spool, result } = await openAt(dir);
      assert.equal(result.truncatedBytes, cut - lastStart, `cut at ${cut}`);
      assert.equal(result.records, 19);
      assert.equal(fs.statSync(path.join(dir, segment)).size, lastStart, 'the file is cut back to the last good frame');
      assertIntact(await readAll(spool), range(1, 19));
      assert.deepEqual(await spool.append([payloadFor(20, SIZE)]), { firstSeq: 20, lastSeq: 20 });
      await closeAll();
      const again = await openAt(dir);
      assert.equal(again.result.truncatedBytes, 0);
      assertIntact(await readAll(again.spool), range(1, 20));
      await closeAll();
      removeDir(dir);
    }
  });

  it('cuts garbage written after the last frame (a power cut mid-write)', async () => {
    const garbages = [
      Buffer.alloc(333, 0), // a file extended with zeros
      Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 73 + 11) & 0xff)),
      // a header that looks right (magic, small length) with a wrong CRC
      Buffer.concat([Buffer.from([0x5a, 0x42, 0x53, 0x50, 0, 0, 0, 4]), Buffer.from('abcd'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 16, 1, 2, 3, 4])]),
    ];
    for (const garbage of garbages) {
      const dir = await writeLog(15);
      const [segment] = segmentFiles(dir);
      fs.appendFileSync(path.join(dir, segment), garbage);
      const { spool, result } = await openAt(dir);
      assert.equal(result.truncatedBytes, garbage.length);
      assert.equal(result.corruptRecords, 0);
      assertIntact(await readAll(spool), range(1, 15));
      assert.deepEqual(await spool.append([payloadFor(16, SIZE)]), { firstSeq: 16, lastSeq: 16 });
      await closeAll();
    }
  });

  it('skips a record with a bad CRC in an older segment and keeps every record after it', async () => {
    const dir = await writeLog(60, { segmentBytes: 20 * FRAME });
    const segments = segmentFiles(dir);
    assert.equal(segments.length, 3);
    // flip one payload byte of record 7 (first segment)
    const first = path.join(dir, segments[0]);
    const bytes = fs.readFileSync(first);
    bytes[6 * FRAME + PAYLOAD_AT + 10] ^= 0x40;
    fs.writeFileSync(first, bytes);

    const { spool, result } = await openAt(dir);
    assert.equal(result.corruptRecords, 1);
    assert.equal(result.truncatedBytes, 0);
    assert.equal(result.records, 59);
    assertIntact(
      await readAll(spool),
      range(1, 60).filter((s) => s !== 7),
    );
    assert.equal(spool.stats().corruptRecords, 1);
    assert.deepEqual(await spool.append([payloadFor(61, SIZE)]), { firstSeq: 61, lastSeq: 61 });
  });

  it('resynchronises after a corrupt length field', async () => {
    const dir = await writeLog(30);
    const [segment] = segmentFiles(dir);
    const file = path.join(dir, segment);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32BE(0x00ffffff, 9 * FRAME + 4); // record 10 now claims 16 MB
    fs.writeFileSync(file, bytes);
    const { spool, result } = await openAt(dir);
    assert.equal(result.corruptRecords, 1);
    assert.equal(result.truncatedBytes, 0, 'a corrupt record followed by good ones is not a tail');
    assertIntact(
      await readAll(spool),
      range(1, 30).filter((s) => s !== 10),
    );
  });

  it('skips a run of several corrupt records in the middle of the last segment', async () => {
    const dir = await writeLog(30);
    const [segment] = segmentFiles(dir);
    const file = path.join(dir, segment);
    const bytes = fs.readFileSync(file);
    bytes.fill(0xee, 4 * FRAME + 3, 8 * FRAME + 5); // records 5..9 overwritten
    fs.writeFileSync(file, bytes);
    const { spool, result } = await openAt(dir);
    assert.equal(result.corruptRecords, 1);
    assertIntact(await readAll(spool), [...range(1, 4), ...range(10, 30)]);
    // reads use the index across the gap; appends continue after it
    assertIntact(await spool.readAfter(3, 3, 1 << 20), [4, 10, 11]);
    assert.deepEqual(await spool.append([payloadFor(31, SIZE)]), { firstSeq: 31, lastSeq: 31 });
    await closeAll();
    const again = await openAt(dir);
    assert.equal(again.result.records, 26);
  });

  it('detects a record damaged on disk after open when reading it, and skips it', async () => {
    const dir = await writeLog(10);
    const { spool } = await openAt(dir);
    const [segment] = segmentFiles(dir);
    const fd = fs.openSync(path.join(dir, segment), 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 2 * FRAME + PAYLOAD_AT + 1);
    fs.closeSync(fd);
    assertIntact(
      await readAll(spool),
      range(1, 10).filter((s) => s !== 3),
    );
    assert.equal(spool.stats().corruptRecords, 1);
  });

  it('removes empty segment files and temp files left by an interrupted write', async () => {
    const dir = await writeLog(5);
    fs.writeFileSync(path.join(dir, '00000000000000000006.seg'), Buffer.alloc(0));
    fs.writeFileSync(path.join(dir, 'checkpoint.json.tmp'), '{"acked');
    const { spool, result } = await openAt(dir);
    assert.equal(result.records, 5);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['00000000000000000001.seg', 'spool.lock']);
    assert.deepEqual(await spool.append([payloadFor(6, SIZE)]), { firstSeq: 6, lastSeq: 6 });
  });

  it('treats an unreadable checkpoint as nothing acknowledged (records are sent again, never lost)', async () => {
    const dir = await writeLog(5);
    fs.writeFileSync(path.join(dir, 'checkpoint.json'), '{"ackedSeq": 3'); // not JSON
    const { spool } = await openAt(dir);
    assertIntact(await readAll(spool), range(1, 5));
  });

  it('trusts the checkpoint only up to the records that exist', async () => {
    const dir = await writeLog(5);
    fs.writeFileSync(path.join(dir, 'checkpoint.json'), JSON.stringify({ version: 1, ackedSeq: 1000, doneSeq: 1000, lastSeq: 1000 }));
    const { spool } = await openAt(dir);
    assert.equal(spool.stats().ackedSeq, 5);
    assert.equal(spool.stats().backlogRecords, 0);
    // new records get seqs after anything ever seen, and are not taken as acknowledged
    const { firstSeq } = await spool.append(payloads(1001, 2, SIZE));
    assert.equal(firstSeq, 1001);
    assertIntact(await readAll(spool), [1001, 1002]);
    await closeAll();
    const again = await openAt(dir);
    assertIntact(await readAll(again.spool), [1001, 1002]);
  });

  it('deletes at open the segments an acknowledgement covered before a crash', async () => {
    const dir = await writeLog(60, { segmentBytes: 20 * FRAME });
    fs.writeFileSync(path.join(dir, 'checkpoint.json'), JSON.stringify({ version: 1, ackedSeq: 45, doneSeq: 45, lastSeq: 60 }));
    const { spool, result } = await openAt(dir);
    assert.equal(result.records, 15);
    assert.deepEqual(segmentFiles(dir), ['00000000000000000041.seg']);
    assertIntact(await readAll(spool), range(46, 60));
  });

  it('ignores a frame whose seq does not belong in its segment (stale bytes)', async () => {
    const dir = await writeLog(20, { segmentBytes: 10 * FRAME });
    const [first, second] = segmentFiles(dir);
    // the first segment gets a valid copy of record 15, which belongs to the second one
    const secondBytes = fs.readFileSync(path.join(dir, second));
    fs.appendFileSync(path.join(dir, first), secondBytes.subarray(4 * FRAME, 5 * FRAME));
    const { spool, result } = await openAt(dir);
    assert.equal(result.truncatedBytes, FRAME);
    assertIntact(await readAll(spool), range(1, 20));
  });
});
