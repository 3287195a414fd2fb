/**
 * The Ignition duplicate window across restarts: saved ids come back in their order (oldest
 * evicted first), pending deliveries are not saved, and a torn or foreign file costs duplicates,
 * never a refused event.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { DedupWindow, type PendingDelivery } from '../../../lib/ignition';
import { keys } from '../ignition/dedup-keys';
import { DedupStore, PersistedDedupWindow, decodeWindow, encodeWindow } from '../../../lib/ignition/dedup-store';
import { makeTempDir, removeDir } from '../spool/helpers';


describe('ignition: duplicate window on disk', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('dedup-store-')));
  afterEach(() => removeDir(dir));

  it('restores the known ids after a restart, oldest first, leaving out pending deliveries', async () => {
    const file = path.join(dir, 'sub', 'in.window');
    const first = new DedupWindow(3);
    const persisted = new PersistedDedupWindow(first, new DedupStore(file));
    await persisted.ready;
    const abcd = keys('a', 'b', 'c', 'd');
    first.remember(abcd, 0);
    first.remember(abcd, 1);
    const pending: PendingDelivery = new Promise<boolean>(() => undefined);
    first.remember(abcd, 2, pending); // not durable yet: a resend after a restart must go through
    persisted.close(); // the stop: saved synchronously
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    const second = new DedupWindow(3);
    await new PersistedDedupWindow(second, new DedupStore(file)).ready;
    assert.equal(second.lookup(abcd, 0).state, 'known');
    assert.equal(second.lookup(abcd, 1).state, 'known');
    assert.equal(second.lookup(abcd, 2).state, 'new');
    // FIFO order survives: two new ids evict 'a' before 'b'
    second.remember(abcd, 2);
    second.remember(abcd, 3);
    assert.equal(second.lookup(abcd, 0).state, 'new');
    assert.equal(second.lookup(abcd, 1).state, 'known');
  });

  it('reads a torn, damaged or foreign file as an empty window', async () => {
    const ids = keys('a', 'b');
    const whole = encodeWindow(ids);
    assert.deepEqual(decodeWindow(whole), ids);
    assert.equal(decodeWindow(whole.subarray(0, whole.length - 3)), undefined, 'torn');
    const flipped = Buffer.from(whole);
    flipped[14] ^= 1;
    assert.equal(decodeWindow(flipped), undefined, 'damaged');
    assert.equal(decodeWindow(Buffer.from('{"not":"a window"}')), undefined, 'foreign');

    const file = path.join(dir, 'in.window');
    fs.writeFileSync(file, whole.subarray(0, 20));
    const w = new DedupWindow(10);
    await new PersistedDedupWindow(w, new DedupStore(file)).ready;
    assert.equal(w.size, 0);
    assert.equal(w.lookup(ids, 0).state, 'new', 'a torn window lets the event through (a duplicate at worst)');
  });

  it('keeps at most the capacity when the saved window was larger', async () => {
    const file = path.join(dir, 'in.window');
    await new DedupStore(file).save(keys('a', 'b', 'c', 'd'));
    const w = new DedupWindow(2);
    await new PersistedDedupWindow(w, new DedupStore(file)).ready;
    assert.equal(w.size, 2);
    const abcd = keys('a', 'b', 'c', 'd');
    assert.deepEqual([0, 1, 2, 3].map((i) => w.lookup(abcd, i).state), ['new', 'new', 'known', 'known']);
  });
});
