/**
 * The emulator's HTTP API against writes from anyone who can reach it: a web page (text/plain,
 * a foreign Origin, a rebound DNS name) and, when it runs with a client secret, anyone without
 * it. Also that the secret can stay off the command line, and the data folder off /api/info.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { ADMIN_ENV, parseArgs, SECRET_ENV } from '../../../lib/emulator/cli';

const SECRET = 'emulator-secret-5150';
const FAULT = JSON.stringify({ action: 'reset', args: [] });

function request(emu: Emulator, method: string, route: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${emu.workspaceUrl}${route}`, { method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('emulator: HTTP API writes are guarded', () => {
  const started: Emulator[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-guard-'));
  after(async () => {
    for (const e of started) await e.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  async function emulator(opts: Parameters<typeof startEmulator>[0]): Promise<Emulator> {
    const e = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: ['CREATE TABLE main.ot.t (id STRING)'], ...opts });
    started.push(e);
    return e;
  }
  const json = { 'content-type': 'application/json' };

  it('with a client secret, takes writes only with it (or the admin token when one is set)', async () => {
    const emu = await emulator({ clientId: 'id', clientSecret: SECRET });
    assert.equal(await request(emu, 'POST', '/api/faults', json, FAULT), 401);
    assert.equal(await request(emu, 'POST', '/api/faults', { ...json, authorization: 'Bearer wrong' }, FAULT), 401);
    assert.equal(await request(emu, 'POST', '/api/faults', { ...json, authorization: `Bearer ${SECRET}` }, FAULT), 200);
    assert.equal(await request(emu, 'DELETE', '/api/tables/main.ot.t/rows', {}), 401);
    assert.equal(await request(emu, 'DELETE', '/api/tables/main.ot.t/rows', { authorization: `Bearer ${SECRET}` }), 200);
    assert.equal(await request(emu, 'POST', '/api/tables', json, JSON.stringify({ sql: 'CREATE TABLE main.ot.u (x INT)' })), 401);
    assert.equal(await request(emu, 'GET', '/api/tables', {}), 200, 'reads stay open');

    const admin = await emulator({ clientId: 'id', clientSecret: SECRET, adminToken: 'admin-token-77' });
    assert.equal(await request(admin, 'POST', '/api/faults', { ...json, authorization: `Bearer ${SECRET}` }, FAULT), 401);
    assert.equal(await request(admin, 'POST', '/api/faults', { ...json, authorization: 'Bearer admin-token-77' }, FAULT), 200);
  });

  it('refuses what a web page can send: no JSON type, a foreign Origin, a foreign Host', async () => {
    const emu = await emulator({});
    const host = new URL(emu.workspaceUrl).host;
    assert.equal(await request(emu, 'POST', '/api/faults', { 'content-type': 'text/plain' }, FAULT), 415);
    assert.equal(await request(emu, 'POST', '/api/faults', {}, FAULT), 415);
    assert.equal(await request(emu, 'POST', '/api/tables', { 'content-type': 'text/plain' }, 'CREATE TABLE main.ot.v (x INT)'), 415);
    assert.equal(await request(emu, 'POST', '/api/faults', { ...json, origin: 'http://evil.example' }, FAULT), 403);
    assert.equal(await request(emu, 'DELETE', '/api/tables/main.ot.t/rows', { origin: 'null' }), 403);
    assert.equal(await request(emu, 'POST', '/api/faults', { ...json, host: `evil.example:${new URL(emu.workspaceUrl).port}` }, FAULT), 403);
    // its own page (same origin) and tools (no Origin) write as before
    assert.equal(await request(emu, 'POST', '/api/faults', { ...json, origin: `http://${host}` }, FAULT), 200);
    assert.equal(await request(emu, 'POST', '/api/faults', json, FAULT), 200);
  });

  it('does not show its data folder in /api/info', async () => {
    const emu = await emulator({ dataDir });
    const info = await (await fetch(`${emu.workspaceUrl}/api/info`)).text();
    assert.ok(!info.includes(dataDir), info);
    assert.equal(JSON.parse(info).durable, true);
  });

  it('reads the client secret and admin token from a file or the environment instead of the command line', () => {
    const file = path.join(dataDir, 'secret');
    fs.writeFileSync(file, `${SECRET}\n`);
    const fromFile = parseArgs(['--client-id', 'id', '--client-secret-file', file, '--admin-token-file', file], {});
    assert.ok(!fromFile.help && fromFile.options.clientSecret === SECRET && fromFile.options.adminToken === SECRET);
    const fromEnv = parseArgs(['--client-id', 'id'], { [SECRET_ENV]: SECRET, [ADMIN_ENV]: 'a' });
    assert.ok(!fromEnv.help && fromEnv.options.clientSecret === SECRET && fromEnv.options.adminToken === 'a');
    assert.throws(() => parseArgs(['--client-id', 'id'], {}), /go together/);
    assert.throws(() => parseArgs(['--client-secret-file', path.join(dataDir, 'missing')], {}), /cannot read/);
  });
});
