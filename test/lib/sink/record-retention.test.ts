import assert from 'node:assert/strict';
import * as v8 from 'v8';
import * as vm from 'vm';
import { createSpool, type Spool, type SpoolRecord } from '../../../lib/spool';
import { SpoolSender, type SenderHost } from '../../../lib/sink/sender';
import type { ZerobusStream } from '../../../lib/zerobus';

/**
 * What the send path keeps alive while it waits. Records that stay reachable across a wait are
 * promoted into V8's old generation and pile up there as garbage until a full collection
 * (docs/PERFORMANCE.md, "Backlog memory"): the sender must not hold a batch it handed over
 * while it sleeps on a full window. Only this test process gets a gc() to look with.
 */
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

/** A stream that is open and never acknowledges: the window fills after one batch. */
function silentStream(): ZerobusStream {
  return { state: 'open', ingest: () => new Promise<void>(() => undefined) } as unknown as ZerobusStream;
}

function hostFor(spool: Spool): SenderHost {
  return {
    ackedSeq: () => 0,
    readableUpTo: () => Number.MAX_SAFE_INTEGER,
    owns: () => true,
    span: () => 1,
    appendedSeq: () => spool.stats().lastSeq,
    paused: () => false,
    convert: (_seq, data) => data,
    acked: () => undefined,
    latency: () => undefined,
    refused: () => undefined,
    skipped: () => undefined,
    warning: () => undefined,
    sendFailed: () => Promise.resolve(),
    now: () => Date.now(),
  };
}

describe('lib/sink record retention', () => {
  it('a sender sleeping on a full window holds none of the records it read', async () => {
    const spool = createSpool({});
    await spool.open();
    await spool.append(Array.from({ length: 200 }, (_, i) => Buffer.from(`record ${i}`)));
    const reads: WeakRef<SpoolRecord[]>[] = [];
    let readDone: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => (readDone = resolve));
    const readAfter = spool.readAfter.bind(spool);
    spool.readAfter = async (seq, maxRecords, maxBytes) => {
      const read = await readAfter(seq, maxRecords, maxBytes);
      reads.push(new WeakRef(read));
      readDone();
      return read;
    };
    const sender = new SpoolSender(spool, silentStream(), hostFor(spool), { recordType: 'proto', maxInflight: 100, maxBatchRecords: 100, maxBatchBytes: 1 << 20 });
    const running = sender.run();
    await firstRead;
    // let the sender hand the batch over and go to sleep on its full window
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sender.inFlightRecords, 100);
    assert.equal(reads.length, 1, 'one read while the window is full');
    collect();
    assert.equal(reads[0].deref(), undefined, 'the read batch is still reachable while the sender sleeps');
    sender.stop();
    await running;
    await spool.close();
  });
});
