import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { OT_SQL, OT_TABLE, RawClient, otProto, otRow } from './raw-client';

async function getJson(emu: Emulator, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(emu.workspaceUrl + path);
  return { status: res.status, body: await res.json() };
}

describe('emulator: HTTP API and web page', () => {
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL, "CREATE TABLE main.ot.empty (id STRING NOT NULL COMMENT 'key', v DOUBLE)"] });
    const client = new RawClient(emu.endpoint);
    const s = client.open().create();
    await s.created();
    for (let i = 0; i < 60; i++) s.write({ ingest_record: { offset_id: i, proto_encoded_record: otProto(i) } });
    s.end();
    await s.status;
    client.close();
  });
  after(async () => {
    await emu.stop();
  });

  it('GET /api/tables lists tables with row counts and columns', async () => {
    const { status, body } = await getJson(emu, '/api/tables');
    assert.equal(status, 200);
    const tables = body as { name: string; rowCount: number; columns: { name: string; type: string; nullable: boolean }[] }[];
    assert.deepEqual(tables.map((t) => [t.name, t.rowCount]), [[OT_TABLE, 60], ['main.ot.empty', 0]]);
    assert.deepEqual(tables[0].columns[1], { name: 'event_time', type: 'TIMESTAMP', nullable: false, comment: 'When the value was sampled at the source' });
    assert.deepEqual(tables[1].columns, [
      { name: 'id', type: 'STRING', nullable: false, comment: 'key' },
      { name: 'v', type: 'DOUBLE', nullable: true },
    ]);
  });

  it('GET /api/tables/{name}/rows: newest first, default 50, limit honoured and capped', async () => {
    let r = await getJson(emu, `/api/tables/${OT_TABLE}/rows`);
    assert.equal(r.status, 200);
    assert.equal((r.body as unknown[]).length, 50);
    assert.deepEqual((r.body as unknown[])[0], otRow(59));
    r = await getJson(emu, `/api/tables/${encodeURIComponent('MAIN.OT.TAG_EVENTS')}/rows?limit=3`);
    assert.deepEqual(r.body, [otRow(59), otRow(58), otRow(57)]);
    r = await getJson(emu, `/api/tables/${OT_TABLE}/rows?limit=999999`);
    assert.equal((r.body as unknown[]).length, 60);
    assert.equal((await getJson(emu, `/api/tables/${OT_TABLE}/rows?limit=0`)).status, 400);
    assert.equal((await getJson(emu, `/api/tables/${OT_TABLE}/rows?limit=abc`)).status, 400);
    assert.equal((await getJson(emu, '/api/tables/main.ot.nope/rows')).status, 404);
  });

  it('GET /api/stats gives totals, rate, streams and a rate history', async () => {
    const { body } = await getJson(emu, '/api/stats');
    const stats = body as Record<string, unknown>;
    assert.equal(stats.rowsTotal, 60);
    assert.equal(stats.streamsTotal, 1);
    assert.equal(stats.streamsOpen, 0);
    assert.equal(typeof stats.rowsPerSecond, 'number');
    assert.ok(Array.isArray(stats.history) && (stats.history as number[]).length === 59);
    assert.deepEqual(stats.streams, []);
  });

  it('POST /api/tables adds tables from DDL; bad DDL is a 400', async () => {
    const json = { 'content-type': 'application/json' };
    let res = await fetch(`${emu.workspaceUrl}/api/tables`, { method: 'POST', headers: json, body: JSON.stringify({ sql: 'CREATE TABLE main.ot.added (x INT)' }) });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { tables: ['main.ot.added'] });
    assert.ok(emu.tables().some((t) => t.name === 'main.ot.added'));
    res = await fetch(`${emu.workspaceUrl}/api/tables`, { method: 'POST', headers: json, body: JSON.stringify('CREATE TABLE main.ot.bad (x NOPE)') });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /unsupported data type NOPE/);
    emu.addTable('CREATE TABLE main.ot.viaapi (y STRING)');
    assert.ok(emu.tables().some((t) => t.name === 'main.ot.viaapi'));
  });

  it('DELETE /api/tables/{name}/rows empties a table', async () => {
    emu.addTable('CREATE TABLE main.ot.scratch (id STRING)');
    const client = new RawClient(emu.endpoint);
    const s = client.open({ table: 'main.ot.scratch' }).create({ table: 'main.ot.scratch', recordType: 2 });
    await s.created();
    s.write({ ingest_record: { offset_id: 0, json_record: '{"id":"a"}' } });
    s.end();
    await s.status;
    client.close();
    assert.equal(emu.allRows('main.ot.scratch').length, 1);
    const res = await fetch(`${emu.workspaceUrl}/api/tables/main.ot.scratch/rows`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.equal(emu.allRows('main.ot.scratch').length, 0);
  });

  it('GET / serves one self-contained page (no external resources) that polls the API', async () => {
    const res = await fetch(emu.workspaceUrl + '/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    assert.match(html, /<canvas/);
    assert.match(html, /api\/stats/);
    assert.match(html, /api\/tables/);
    assert.doesNotMatch(html, /(src|href)=["']https?:/, 'no CDN or external resources');
    const info = (await getJson(emu, '/api/info')).body as Record<string, unknown>;
    assert.equal(info.endpoint, emu.endpoint);
  });

  it('GET / already shows tables, row counts, endpoints and the newest rows without running its script', async () => {
    const html = await (await fetch(emu.workspaceUrl + '/')).text();
    const body = html.slice(0, html.indexOf('<script>'));
    assert.match(body, new RegExp(`<code id="ep">${emu.endpoint}</code>`));
    assert.match(body, /<li data-name="main\.ot\.tag_events" class="sel"><span>main\.ot\.tag_events<\/span><span class="n">60<\/span><\/li>/);
    assert.match(body, /<li data-name="main\.ot\.empty" class=""><span>main\.ot\.empty<\/span><span class="n">0<\/span><\/li>/);
    const stats = (await getJson(emu, '/api/stats')).body as { rowsTotal: number };
    assert.match(body, new RegExp(`<b id="k-total">${stats.rowsTotal}</b>`));
    assert.match(body, /Latest rows — main\.ot\.tag_events/);
    // the newest row first, every column, NULL shown as such
    const firstRow = /<tbody><tr>(.*?)<\/tr>/.exec(body)![1];
    assert.ok(firstRow.includes(String(otRow(59).event_id)), firstRow);
    assert.equal((body.match(/<tbody>.*<\/tbody>/)![0].match(/<tr>/g) ?? []).length, 50);
    assert.doesNotMatch(body, /\{\{\w+\}\}/, 'every placeholder filled');
  });

  it('GET / shows FLOAT without float32 noise, TIMESTAMP in UTC saying so, wide rows scrollable, an inline icon', async () => {
    const lines: string[] = [];
    const own = await startEmulator({ grpcPort: 0, httpPort: 0, log: (l) => lines.push(l), schemaSql: ['CREATE TABLE main.ot.readings (v FLOAT, at TIMESTAMP, local TIMESTAMP_NTZ, quality STRING)'] });
    try {
      const client = new RawClient(own.endpoint);
      const s = client.open({ table: 'main.ot.readings' }).create({ table: 'main.ot.readings', recordType: 2 });
      await s.created();
      s.write({ ingest_record: { offset_id: 0, json_record: JSON.stringify({ v: 2.455, at: 1765456245123000, local: 1765456245123000, quality: 'Uncertain_LastKnownValue' }) } });
      s.end();
      await s.status;
      client.close();
      const html = await (await fetch(own.workspaceUrl + '/')).text();
      const row = /<tbody><tr>(.*?)<\/tr>/.exec(html)![1];
      assert.match(row, /<td class="num">2\.455<\/td>/, 'FLOAT shown with its 7 digits');
      assert.match(row, />2025-12-11 12:30:45\.123 UTC</, 'TIMESTAMP says it is UTC');
      assert.match(row, />2025-12-11 12:30:45\.123</, 'TIMESTAMP_NTZ has no zone');
      assert.doesNotMatch(row, /12:30:45\.123 UTC<\/td><td[^>]*>2025-12-11 12:30:45\.123 UTC/, 'TIMESTAMP_NTZ claims no zone');
      assert.match(html, /table \{[^}]*width:max-content/, 'a wide row scrolls instead of squeezing its cells');
      assert.match(html, /<link rel="icon" href="data:image\/svg\+xml,/, 'the page brings its own icon: no /favicon.ico request');
      // the log tells both ends of a stream
      const id = /stream (\S+) opened on main\.ot\.readings/.exec(lines.join('\n'))?.[1];
      assert.ok(id, lines.join('\n'));
      assert.ok(lines.some((l) => l === `stream ${id} closed by the client, everything acknowledged`), lines.join('\n'));
    } finally {
      await own.stop();
    }
  });

  it('answers 404 and 405 with JSON errors', async () => {
    let res = await fetch(`${emu.workspaceUrl}/nope`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /no such route/);
    res = await fetch(`${emu.workspaceUrl}/api/stats`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });
});
