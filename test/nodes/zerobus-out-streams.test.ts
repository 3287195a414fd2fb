/**
 * zerobus-out with `streams` against the emulator: records spread over several Zerobus streams
 * to one table, each tag (or partition value) in the order sent; statistics, status and the
 * editor's sidebar figures show the streams.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Emulator } from '../../lib/emulator';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import { LIVE_STATS_TOPIC, type LiveStatsPayload } from '../../nodes/common/live-stats';
import { nodeHelper as helper, CLIENT_ID, CLIENT_SECRET, OT_TABLE, READINGS_SQL, READINGS_TABLE, startTestEmulator, tempDir, waitFor } from '../lib/sink/helpers';

type Msg = Record<string, any>;

describe('zerobus-out on several streams', function () {
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };
  let sidebar: WebSocket | undefined;

  beforeEach(async () => {
    emu = await startTestEmulator();
    spool = tempDir('zb-streams');
    helper.settings({ zerobusOutCloseTimeout: 1000 });
    await helper.startServer();
  });
  afterEach(async () => {
    sidebar?.close();
    sidebar = undefined;
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    spool.remove();
  });

  async function load(out: Record<string, unknown>) {
    const nodes = [
      { id: 'tab', type: 'tab', label: 'test' },
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
      {
        id: 'out', type: 'zerobus-out', z: 'tab', x: 100, y: 40, name: 'to delta', connection: 'cfg', table: OT_TABLE, format: 'ot-event', recordType: 'proto',
        spool: 'disk', spoolDir: spool.dir, statsInterval: 0.2, retryBackoffMax: 0.2, wires: [['output']], ...out,
      },
      { id: 'output', type: 'helper', z: 'tab', x: 100, y: 80 },
    ];
    await helper.load([configNode, outNode], nodes, { cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    const node = helper.getNode('out');
    const stats: Msg[] = [];
    helper.getNode('output').on('input', (m: Msg) => {
      if (m.topic === 'stats') stats.push(m.payload);
    });
    return { node, stats };
  }

  /** What the editor's Zerobus sidebar receives for the node, over Node-RED's comms websocket. */
  async function watchSidebar(): Promise<LiveStatsPayload[]> {
    const seen: LiveStatsPayload[] = [];
    sidebar = new WebSocket(`${helper.url().replace(/^http/, 'ws')}/comms`);
    await new Promise((resolve, reject) => sidebar!.once('open', resolve).once('error', reject));
    sidebar.on('message', (data) => {
      for (const m of JSON.parse(String(data)) as { topic: string; data: LiveStatsPayload }[]) if (m.topic === `${LIVE_STATS_TOPIC}/out`) seen.push(m.data);
    });
    sidebar.send(JSON.stringify({ subscribe: `${LIVE_STATS_TOPIC}/out` }));
    return seen;
  }

  const openStreams = (table: string) => emu.streams().filter((s) => s.table === table);
  const statusTexts = (node: any): string[] => node.status.args.map((a: Msg[]) => String(a[0].text ?? ''));

  /** Stored rows grouped by `key`, each group's `value` in stored order. */
  function storedOrder(table: string, key: string, value: string): Map<string, unknown[]> {
    const groups = new Map<string, unknown[]>();
    for (const row of emu.allRows(table)) {
      const k = String(row[key]);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(row[value]);
    }
    return groups;
  }

  it('streams "4": every event lands over four streams to the table, each tag in the order sent; stats, status and sidebar show the four', async () => {
    const { node, stats } = await load({ streams: '4' });
    const seen = await watchSidebar();
    const TAGS = 40;
    const ROUNDS = 60;
    const base = 1765456245000;
    // every message holds one value of every tag: a tag's values are spread over all messages
    for (let r = 0; r < ROUNDS; r++) {
      node.receive({ payload: Array.from({ length: TAGS }, (_, k) => ({ tagPath: `[default]Streams/T${k}`, value: r, quality: 'Good', timestamp: base + r, dataType: 'Int4' })) });
    }
    const total = TAGS * ROUNDS;
    await waitFor(() => emu.allRows(OT_TABLE).length >= total, `${total} rows in the table`, 20_000);
    assert.equal(emu.allRows(OT_TABLE).length, total, 'each event once');

    const streams = openStreams(OT_TABLE);
    assert.equal(streams.length, 4, 'four open streams to the table');
    assert.ok(streams.every((s) => s.recordsReceived > 0), `records on every stream: ${streams.map((s) => s.recordsReceived).join(', ')}`);
    const order = storedOrder(OT_TABLE, 'tag_path', 'numeric_value');
    assert.equal(order.size, TAGS);
    const sent = Array.from({ length: ROUNDS }, (_, r) => r);
    for (const [tag, values] of order) assert.deepEqual(values, sent, `${tag} in the order sent`);

    await waitFor(() => stats.some((s) => s.recordsOut === total && s.streams?.length === 4), 'a stats message with every record out, on four streams');
    const last = stats.filter((s) => s.recordsOut === total).pop()!;
    assert.equal(last.streamsMode, 4);
    assert.deepEqual(last.streams.map((s: Msg) => s.index), [0, 1, 2, 3]);
    for (const s of last.streams) assert.deepEqual(Object.keys(s).sort(), ['inFlight', 'index', 'rateOut', 'reconnects', 'recordsOut', 'retiring', 'state']);
    assert.equal(last.streams.reduce((n: number, s: Msg) => n + s.recordsOut, 0), total, 'the streams\' acknowledged records add up');

    await waitFor(() => statusTexts(node).some((t) => /^streaming ×4 · [\d.]+[kM]?\/s · backlog \d/.test(t)), 'status with the stream count');
    await waitFor(() => seen.some((p) => p.streams?.length === 4 && p.extra?.streams === '4'), 'sidebar figures of four streams');
    const card = seen.filter((p) => p.streams?.length === 4).pop()!;
    assert.deepEqual(card.streams!.map((s) => s.index), [0, 1, 2, 3]);
    for (const s of card.streams!) assert.deepEqual(Object.keys(s).sort(), ['ackedPerSec', 'inFlight', 'index', 'retiring', 'state']);
  });

  it('rows with partitionColumn over two streams: each partition value keeps its order', async () => {
    const { node } = await load({ streams: '2', format: 'rows', recordType: 'json', table: READINGS_TABLE, schema: READINGS_SQL, partitionColumn: 'name' });
    // five names over two streams: round robin would put each name on both
    const NAMES = ['press', 'oven', 'filler', 'capper', 'labeler'];
    const PER_NAME = 200;
    for (let i = 0; i < PER_NAME; i++) node.receive({ payload: NAMES.map((name, k) => ({ id: i * NAMES.length + k, name })) });
    const total = NAMES.length * PER_NAME;
    await waitFor(() => emu.allRows(READINGS_TABLE).length >= total, `${total} rows`, 20_000);
    assert.equal(emu.allRows(READINGS_TABLE).length, total);
    assert.equal(openStreams(READINGS_TABLE).length, 2);
    for (const [name, ids] of storedOrder(READINGS_TABLE, 'name', 'id')) {
      const sorted = [...ids].sort((a, b) => Number(a) - Number(b));
      assert.deepEqual(ids, sorted, `${name}: ids in the order sent`);
    }
    assert.deepEqual((node as any).warn.args, [], 'nothing to warn about');
  });

  it('streams "auto" opens a second stream while one stream\'s quota binds and the backlog grows; stats and sidebar say so', async () => {
    await emu.stop();
    emu = await startTestEmulator({ quota: { recordsPerSecond: 1000 } });
    const { node, stats } = await load({ streams: 'auto', maxStreams: '3' });
    const seen = await watchSidebar();
    // twice what one stream may take, until the node has opened another
    let sent = 0;
    const feed = setInterval(() => {
      node.receive({ payload: Array.from({ length: 200 }, (_, k) => ({ tagPath: `[default]Auto/T${k % 20}`, value: sent + k, quality: 'Good', timestamp: 1765456245000 + sent + k })) });
      sent += 200;
    }, 100);
    try {
      await waitFor(() => openStreams(OT_TABLE).length >= 2, 'a second open stream to the table', 20_000);
    } finally {
      clearInterval(feed);
    }
    assert.ok(emu.throttled(OT_TABLE).count > 0, 'the first stream was held to its quota');
    await waitFor(() => stats.some((s) => s.streams.length >= 2), 'stats with two streams');
    const last = stats.filter((s) => s.streams.length >= 2).pop()!;
    assert.equal(last.streamsMode, 'auto');
    assert.equal(last.maxStreams, 3);
    await waitFor(() => seen.some((p) => /^[23] \(auto, max 3\)$/.test(String(p.extra?.streams)) && (p.streams?.length ?? 0) >= 2), 'the sidebar chip and rows');
    assert.ok(seen.some((p) => p.extra?.streams === '1 (auto, max 3)'), 'it started with one stream');
    assert.deepEqual((node as any).warn.args, []);
  });

  it('takes the count from a ${VAR}, as Node-RED resolves it', async () => {
    process.env.ZB_TEST_STREAMS = '3';
    try {
      const { node, stats } = await load({ streams: '${ZB_TEST_STREAMS}' });
      await waitFor(() => openStreams(OT_TABLE).length === 3, 'three open streams');
      await waitFor(() => stats.length > 0, 'a stats message');
      assert.equal(stats.at(-1)!.streamsMode, 3);
      assert.deepEqual((node as any).warn.args, []);
    } finally {
      delete process.env.ZB_TEST_STREAMS;
    }
  });

  it('a bad stream count warns, naming the value, and runs one stream', async () => {
    const bad = await load({ streams: '20' });
    assert.ok(bad.node.warn.args.some((a: unknown[]) => /^Streams "20" is neither a whole number from 1 to 16 nor auto: running 1 stream$/.test(String(a[0]))), 'warned');
    bad.node.receive({ payload: [{ tagPath: '[default]One/Stream', value: 1, quality: 'Good', timestamp: 1765456245000 }] });
    await waitFor(() => emu.allRows(OT_TABLE).length === 1, 'the row');
    assert.equal(openStreams(OT_TABLE).length, 1);
    await waitFor(() => bad.stats.some((s) => s.recordsOut === 1), 'stats after the row');
    assert.equal(bad.stats.pop()!.streamsMode, 1);
  });
});
