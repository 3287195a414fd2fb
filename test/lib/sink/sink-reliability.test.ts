import assert from 'node:assert/strict';
import * as net from 'net';
import type { Emulator } from '../../../lib/emulator';
import { BackpressureError, SinkConfigError, ZerobusSink, type SinkFailure, type ZerobusSinkOptions } from '../../../lib/sink';
import { ZerobusClient } from '../../../lib/zerobus';
import {
  activeHandles, clientFor, FAST_BACKOFF, leakedSince, numericEvents, OT_EVENTS_SQL, OT_TABLE, READINGS_SQL, READINGS_TABLE,
  startTestEmulator, tempDir, waitFor,
} from './helpers';


describe('lib/sink ZerobusSink reliability', function () {
  let emu: Emulator;
  let client: ZerobusClient;
  const sinks: ZerobusSink[] = [];
  const cleanups: (() => void)[] = [];

  /** what the emulator logged: refused stream attempts show there as `... ends: <code>` */
  let emuLog: string[];
  beforeEach(async () => {
    emuLog = [];
    emu = await startTestEmulator({ log: (line) => emuLog.push(line) });
    client = clientFor(emu);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close(300)));
    await client.close();
    await emu.stop();
    cleanups.splice(0).forEach((f) => f());
  });

  function spoolDir(): string {
    const tmp = tempDir('sink-rel');
    cleanups.push(tmp.remove);
    return tmp.dir;
  }

  function sink(opts: Partial<ZerobusSinkOptions> = {}): ZerobusSink {
    const s = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', spool: { dir: spoolDir() }, backoff: FAST_BACKOFF, ...opts });
    sinks.push(s);
    s.start().catch(() => undefined);
    return s;
  }

  const rowsOf = () => new Set(emu.allRows(OT_TABLE).map((r) => `${String(r.tag_path)}@${String(r.event_time)}`));
  const keyOf = (e: Record<string, unknown>) => `${String(e.tagPath)}@${(e.timestamp as number) * 1000}`;

  describe('backpressure', () => {
    it("'block': a full spool refuses the whole call with a BackpressureError and keeps nothing of it", async () => {
      emu.faults.withholdAcks(true);
      const s = sink({ spool: { dir: spoolDir(), maxBytes: 8 * 1024, overflow: 'block' } });
      const accepted: Record<string, unknown>[] = [];
      let refused: unknown;
      for (let i = 0; i < 200 && !refused; i++) {
        const batch = numericEvents(10, 'Fill', i * 10);
        try {
          await s.accept(batch);
          accepted.push(...batch);
        } catch (err) {
          refused = err;
        }
      }
      assert.ok(refused instanceof BackpressureError, 'refused with a BackpressureError');
      assert.equal(refused.reason, 'spool-full');
      assert.match(refused.message, /spool full/);
      assert.equal(s.accepting, false);
      const backlog = s.stats().backlog;
      assert.equal(backlog, accepted.length, 'nothing of the refused call was spooled');

      emu.faults.withholdAcks(false);
      await waitFor(() => emu.allRows(OT_TABLE).length >= accepted.length && s.stats().backlog === 0, 'backlog delivered');
      const landed = rowsOf();
      for (const e of accepted) assert.ok(landed.has(keyOf(e)), `accepted ${keyOf(e)} landed`);
      await waitFor(() => s.accepting, 'accepting again');
    });

    it("'drop-oldest': a full spool drops the oldest records, counts and reports them", async () => {
      emu.faults.withholdAcks(true);
      const s = sink({ spool: { dir: spoolDir(), maxBytes: 8 * 1024, overflow: 'drop-oldest' }, maxInflightRecords: 5 });
      let droppedEvents = 0;
      s.on('drop', ({ records }) => (droppedEvents += records));
      for (let i = 0; i < 60; i++) await s.accept(numericEvents(10, 'Drop', i * 10));
      assert.ok(s.stats().dropped > 0, 'records were dropped');
      assert.equal(droppedEvents, s.stats().dropped, 'every drop was reported');
      assert.equal(s.accepting, true, 'drop-oldest keeps accepting');
      emu.faults.withholdAcks(false);
      await waitFor(() => s.stats().backlog === 0, 'the rest delivered');
      assert.ok(emu.allRows(OT_TABLE).length <= 600 - s.stats().dropped + 5, 'dropped records were not sent (up to those in flight)');
    });
  });

  describe('final errors', () => {
    async function expectFailedThenRecovered(s: ZerobusSink, code: string, fix: () => void): Promise<void> {
      const failures: SinkFailure[] = [];
      s.on('failure', (f) => failures.push(f));
      const events = numericEvents(20, 'Final');
      await s.accept(events); // disk spool: accepted while the stream is refused
      await waitFor(() => s.state.state === 'failed', `state failed (${code})`);
      assert.equal(s.state.error?.code, code);
      const mark = emuLog.length;
      await waitFor(() => emuLog.slice(mark).filter((l) => / ends: [A-Z_]+ /.test(l)).length >= 3, 'three more refused attempts');
      assert.equal(failures.length, 1, 'reported once, not per retry');
      assert.equal(failures[0].code, code);
      assert.ok(failures[0].hint, 'with a hint for the user');
      assert.equal(s.stats().backlog, 20, 'the data stays spooled');
      assert.equal(emu.allRows(OT_TABLE).length, 0);
      fix();
      await waitFor(() => emu.allRows(OT_TABLE).length === 20, 'delivered after the fault was cleared');
      await waitFor(() => s.state.state === 'streaming' && s.stats().backlog === 0, 'streaming, backlog empty');
    }

    it('a revoked grant: failed with the reason, reported once, data kept, recovers when granted again', async () => {
      emu.faults.revokeGrant(OT_TABLE, true);
      const s = sink({ failedRetryMs: 50 });
      await expectFailedThenRecovered(s, 'PERMISSION_DENIED', () => emu.faults.revokeGrant(OT_TABLE, false));
    });

    it('an unknown table: failed NOT_FOUND, recovers once the table exists', async () => {
      const table = 'main.ot.created_later';
      const s = sink({ table, failedRetryMs: 50 });
      const failures: SinkFailure[] = [];
      s.on('failure', (f) => failures.push(f));
      await s.accept(numericEvents(5, 'Later'));
      await waitFor(() => s.state.state === 'failed', 'failed');
      assert.equal(s.state.error?.code, 'NOT_FOUND');
      emu.addTable(OT_EVENTS_SQL.split(OT_TABLE).join(table));
      await waitFor(() => emu.allRows(table).length === 5, 'delivered to the new table');
      assert.equal(failures.length, 1);
    });

    it('a bad secret: failed TOKEN_REJECTED, and the secret appears in no state, failure or stats', async () => {
      const secret = 'wrong-secret-value-1234';
      const bad = clientFor(emu, secret);
      cleanups.push(() => void bad.close());
      const s = sink({ client: bad, failedRetryMs: 60_000 });
      const seen: unknown[] = [];
      s.on('state', (st) => seen.push(st));
      s.on('failure', (f) => seen.push(f));
      await s.accept(numericEvents(3, 'Secret'));
      await waitFor(() => s.state.state === 'failed', 'failed');
      assert.equal(s.state.error?.code, 'TOKEN_REJECTED');
      seen.push(s.stats());
      const text = JSON.stringify(seen);
      assert.ok(!text.includes(secret), 'the secret never appears');
      assert.equal(s.stats().backlog, 3);
    });

    it('retryable faults (dropped connection, server close signal) recover by themselves and lose nothing', async () => {
      const s = sink();
      const events = numericEvents(300, 'Retry');
      emu.faults.dropConnectionAfterRecords(120);
      for (let i = 0; i < 300; i += 50) await s.accept(events.slice(i, i + 50));
      await waitFor(() => s.stats().backlog === 0, 'backlog empty after the reconnect');
      emu.faults.sendCloseSignal(50);
      const more = numericEvents(100, 'AfterClose', 1000);
      await s.accept(more);
      await waitFor(() => s.stats().backlog === 0, 'backlog empty after the close signal');
      const landed = rowsOf();
      for (const e of [...events, ...more]) assert.ok(landed.has(keyOf(e)), `${keyOf(e)} landed`);
      assert.ok(s.stats().reconnects >= 1, 'reconnects are counted');
    });
  });

  describe('restart', () => {
    it('resends what the spool holds, converting OT events spooled as PROTO to JSON when the record type changed', async () => {
      const dir = spoolDir();
      emu.faults.withholdAcks(true);
      const first = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', spool: { dir }, recordType: 'proto', backoff: FAST_BACKOFF });
      const events = numericEvents(40, 'Convert');
      await first.accept(events);
      await first.close(100);
      emu.faults.withholdAcks(false);
      await emu.clearTable(OT_TABLE); // the emulator may have stored what it did not acknowledge

      const second = sink({ spool: { dir }, recordType: 'json' });
      await second.start();
      assert.equal(second.stats().backlog, 40, 'the unacknowledged records were still spooled');
      await waitFor(() => second.stats().backlog === 0 && emu.allRows(OT_TABLE).length >= 40, 'the spooled records delivered');
      const landed = rowsOf();
      for (const e of events) assert.ok(landed.has(keyOf(e)), `${keyOf(e)} landed`);
      const row = emu.allRows(OT_TABLE).find((r) => r.tag_path === events[0].tagPath);
      assert.equal(row?.source_system, 'edge-1');
    });

    it('takes data while it is still opening its spool (a request right after deploy), and it lands', async () => {
      const dir = spoolDir();
      emu.faults.withholdAcks(true);
      const first = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', spool: { dir }, backoff: FAST_BACKOFF });
      await first.accept(numericEvents(500, 'Backlog')); // a backlog to recover makes the opening take a while
      await first.close(100);
      emu.faults.withholdAcks(false);

      const second = sink({ spool: { dir } });
      assert.equal(second.state.state, 'starting');
      assert.equal(second.accepting, true, 'a sink still starting says it takes data');
      const events = numericEvents(10, 'Early');
      await second.accept(events);
      await waitFor(() => second.stats().backlog === 0, 'backlog and early events delivered');
      const landed = rowsOf();
      for (const e of events) assert.ok(landed.has(keyOf(e)), `${keyOf(e)} landed`);
    });

    it('refuses to start when custom rows of another record type wait in the spool, and says why', async () => {
      const dir = spoolDir();
      emu.faults.withholdAcks(true);
      const first = new ZerobusSink({ client, table: READINGS_TABLE, format: 'rows', recordType: 'json', spool: { dir }, backoff: FAST_BACKOFF });
      await first.accept([{ id: 1 }]);
      await first.close(100);
      const second = sink({ table: READINGS_TABLE, format: 'rows', recordType: 'proto', schemaSql: READINGS_SQL, spool: { dir } });
      await assert.rejects(second.start(), (err: unknown) => err instanceof SinkConfigError && /JSON/.test((err as Error).message));
      assert.equal(second.state.state, 'failed');
      assert.equal(second.accepting, false, 'a sink that could not start takes no data');
      await assert.rejects(second.accept([{ id: 2 }]), BackpressureError);
    });
  });

  describe('close', () => {
    it('is bounded when the server hangs, and leaves no handle behind', async () => {
      const sockets = new Set<net.Socket>();
      const hung = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      const port = (hung.address() as net.AddressInfo).port;
      const before = activeHandles();

      const s = new ZerobusSink({
        clientFactory: () => new ZerobusClient({ endpoint: `http://127.0.0.1:${port}`, auth: { type: 'token', token: 'test-token-xyz' } }),
        table: OT_TABLE,
        spool: { dir: spoolDir() },
        createTimeoutMs: 60_000,
        backoff: FAST_BACKOFF,
      });
      await s.accept(numericEvents(10, 'Hung'));
      await waitFor(() => sockets.size > 0, 'the client connected to the hung server');
      const started = Date.now();
      await s.close(300);
      const took = Date.now() - started;
      assert.ok(took < 5000, `close took ${took} ms`);
      assert.equal(s.state.state, 'closed');

      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
      await waitFor(() => Object.keys(leakedSince(before)).length === 0, 'every handle closed').catch(() => undefined);
      assert.deepEqual(leakedSince(before), {}, 'no timer, socket or file left');
    });

    it('flushes what it can within the bound on a healthy stream', async () => {
      const s = sink();
      emu.faults.ackDelayMs(100);
      await s.accept(numericEvents(50, 'Flush'));
      await s.close(3000);
      assert.equal(emu.allRows(OT_TABLE).length, 50);
    });
  });
});
