/**
 * Scenario 7: secrets and permissions, with Node-RED at log level trace and adminAuth on.
 * Distinctive secrets (a wrong and a right client secret, an ingest API key, a wrong key) and
 * the emulator's opaque tokens (prefix `dzbemu.`) must never appear in anything the product
 * shows: both processes' output, flow exports (GET /flows), the credentials admin route,
 * status and debug messages (console debug nodes fed by status, catch and the sink's output),
 * editor comms messages (status, debug, the Zerobus sidebar), receipts, /diagnostics, /health,
 * ingest answers, /config, Test connection answers, error messages. The package's admin route needs
 * permission (anonymous and read-only users are refused), a wrong ingest key gets 401, and a
 * plaintext endpoint off loopback is warned about.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { status as Grpc } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { eventually } from '../support/dist';
import { CFG_ID, ChaosRig, report, scaled, TAB_ID, TABLE, useChaosRig } from './rig';

const CLIENT_ID = 'chaos-sec-client';
const RIGHT_SECRET = 'S3cr3t-CHAOS-right-9f2e71d4';
const WRONG_SECRET = 'S3cr3t-CHAOS-wrong-4b8d20c6';
const API_KEY = 'K3y-CHAOS-ingest-77a1c3e5';
const WRONG_KEY = 'K3y-CHAOS-wrong-0c92b6aa';
const ADMIN_PASSWORD = 'chaos-admin-pw';
const READER_PASSWORD = 'chaos-reader-pw';
/** every token the emulator issues starts with this */
const TOKEN_MARK = 'dzbemu.';
const SECRETS = [
  RIGHT_SECRET, WRONG_SECRET, API_KEY, WRONG_KEY, TOKEN_MARK,
  Buffer.from(`${CLIENT_ID}:${RIGHT_SECRET}`).toString('base64'), Buffer.from(`${CLIENT_ID}:${WRONG_SECRET}`).toString('base64'),
];

interface Answer {
  status: number;
  text: string;
}

function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) };
    const req = http.request(url, { method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('chaos: secrets and permissions', function () {
  this.timeout(scaled(180_000));
  let rig: ChaosRig;
  let comms: WebSocket | undefined;
  const commsMessages: string[] = [];
  /** every HTTP answer body the test saw */
  const answers: { what: string; text: string }[] = [];
  const keep = (what: string, a: Answer): Answer => {
    answers.push({ what, text: a.text });
    return a;
  };

  // the editor's comms socket closes before the rig stops
  after(() => comms?.terminate());
  useChaosRig(
    () => {
      const bcrypt = require('bcryptjs') as { hashSync(pw: string, rounds: number): string };
      return {
        name: 'security',
        clientId: CLIENT_ID,
        clientSecret: RIGHT_SECRET,
        configClientSecret: WRONG_SECRET,
        apiKey: API_KEY,
        outProps: { statsInterval: 1, wires: [['sec-out-debug']] },
        nodeRedSettings: {
          adminAuth: {
            type: 'credentials',
            users: [
              { username: 'admin', password: bcrypt.hashSync(ADMIN_PASSWORD, 4), permissions: '*' },
              { username: 'reader', password: bcrypt.hashSync(READER_PASSWORD, 4), permissions: 'read' },
            ],
          },
        },
        extraNodes: [
          { id: 'sec-out-debug', type: 'debug', z: TAB_ID, name: 'receipts', active: true, tosidebar: true, console: true, complete: 'true', targetType: 'full', wires: [] },
          { id: 'sec-catch', type: 'catch', z: TAB_ID, name: 'errors', scope: null, uncaught: false, wires: [['sec-catch-debug']] },
          { id: 'sec-catch-debug', type: 'debug', z: TAB_ID, name: 'caught', active: true, tosidebar: true, console: true, complete: 'true', targetType: 'full', wires: [] },
          // a plaintext endpoint that is not loopback (TEST-NET-1: never answers)
          { id: 'sec-cfg-remote', type: 'zerobus-config', name: 'remote plaintext', endpoint: 'http://192.0.2.10:50051', workspaceUrl: 'http://192.0.2.10:50052', authType: 'oauth' },
          { id: 'sec-out-remote', type: 'zerobus-out', z: TAB_ID, name: 'remote', connection: 'sec-cfg-remote', table: TABLE, spool: 'memory', statsInterval: 0, wires: [[]] },
        ],
        extraCredentials: { 'sec-cfg-remote': { clientId: CLIENT_ID, clientSecret: RIGHT_SECRET } },
      };
    },
    (started) => {
      rig = started;
    },
  );

  async function adminToken(username: string, password: string, scope: string): Promise<string> {
    const body = new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password }).toString();
    const res = await request(`${rig.nodeRed.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(res.status, 200, `login of ${username}: ${res.status} ${res.text}`);
    return JSON.parse(res.text).access_token as string;
  }

  /** An editor's websocket: subscribes once the login is accepted, keeps every message. */
  function openComms(token: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${rig.nodeRed.port}/comms`);
      comms = ws;
      ws.on('open', () => ws.send(JSON.stringify({ auth: token })));
      ws.on('message', (data) => {
        const text = data.toString();
        if (/"auth":"ok"/.test(text)) {
          for (const topic of ['status/#', 'debug', 'notification/#', 'zerobus/#']) ws.send(JSON.stringify({ subscribe: topic }));
          resolve();
        } else commsMessages.push(text);
      });
      ws.on('error', reject);
    });
  }

  it('keeps every secret out of everything it shows, and guards its admin route', async () => {
    const admin = await adminToken('admin', ADMIN_PASSWORD, '*');
    const reader = await adminToken('reader', READER_PASSWORD, 'read');
    await openComms(admin);
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });

    // 1. wrong client secret deployed: a final auth error, shown without the secret
    const failed = await eventually('the sink to fail on the wrong secret', async () => {
      const s = await rig.sink();
      return s.state === 'failed' ? s : undefined;
    }, 30_000, 200);
    await eventually('"auth failed" status in the log', () => rig.nodeRedLines().some((l) => l.includes('auth failed')), 15_000, 200);
    rig.source.start(); // the disk spool keeps taking data meanwhile

    // 2. the package's admin route: Test connection
    const testBody = (secret: string) =>
      JSON.stringify({ id: CFG_ID, table: TABLE, workspaceUrl: rig.workspaceUrl, endpoint: rig.emulator.endpoint, authType: 'oauth', clientId: CLIENT_ID, clientSecret: secret });
    const post = (headers: Record<string, string>, secret: string) =>
      request(`${rig.nodeRed.url}/zerobus/test`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: testBody(secret) });
    const anonymous = keep('test anonymous', await post({}, RIGHT_SECRET));
    const readOnly = keep('test read-only', await post(auth(reader), RIGHT_SECRET));
    const deployedWrong = keep('test deployed wrong secret', await post(auth(admin), '__PWRD__'));
    const typedWrong = keep('test typed wrong secret', await post(auth(admin), WRONG_SECRET));
    const typedRight = keep('test right secret', await post(auth(admin), RIGHT_SECRET));
    assert.equal(anonymous.status, 401, `anonymous Test connection: ${anonymous.status}`);
    assert.ok([401, 403].includes(readOnly.status), `read-only Test connection: ${readOnly.status}`);
    assert.equal(deployedWrong.status, 200);
    assert.equal(JSON.parse(deployedWrong.text).code, 'BAD_CREDENTIALS', deployedWrong.text);
    assert.equal(JSON.parse(typedWrong.text).code, 'BAD_CREDENTIALS', typedWrong.text);
    assert.equal(JSON.parse(typedRight.text).ok, true, typedRight.text);

    // 3. ingest keys
    const batch = JSON.stringify([{ tagPath: '[sec]A', value: 1, timestamp: Date.now() }]);
    const wrongKey = keep('ingest wrong key', await request(rig.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WRONG_KEY}` }, body: batch }));
    const noKey = keep('ingest no key', await request(rig.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch }));
    const diagWrongKey = keep('diagnostics wrong key', await request(`${rig.base}/diagnostics`, { headers: { authorization: `Bearer ${WRONG_KEY}` } }));
    assert.equal(wrongKey.status, 401);
    assert.equal(noKey.status, 401);
    assert.equal(diagWrongKey.status, 401);

    // 4. exports and admin reads
    const flowsAnonymous = await request(`${rig.nodeRed.url}/flows`);
    assert.equal(flowsAnonymous.status, 401, 'GET /flows without a login');
    keep('flows v1', await request(`${rig.nodeRed.url}/flows`, { headers: auth(admin) }));
    keep('flows v2', await request(`${rig.nodeRed.url}/flows`, { headers: { ...auth(admin), 'Node-RED-API-Version': 'v2' } }));
    const creds = keep('credentials route', await request(`${rig.nodeRed.url}/credentials/zerobus-config/${CFG_ID}`, { headers: auth(admin) }));
    assert.equal(creds.status, 200);
    assert.equal(JSON.parse(creds.text).has_clientSecret, true, creds.text);
    keep('diagnostics while failed', { status: 200, text: JSON.stringify(await rig.diagnostics()) });
    keep('health while failed', await request(`${rig.base}/health`));

    // 5. the right secret deployed (as the editor does: credentials inside the node), then data and fresh tokens
    const flows = rig.flows().map((n) => ((n as { id: string }).id === CFG_ID ? { ...n, credentials: { clientId: CLIENT_ID, clientSecret: RIGHT_SECRET } } : n));
    const readerDeploy = await rig.deploy(flows, 'full', auth(reader));
    assert.ok([401, 403].includes(readerDeploy), `a read-only user deployed: ${readerDeploy}`);
    assert.ok([200, 204].includes(await rig.deploy(flows, 'full', auth(admin))));
    await eventually('streaming with the right secret', async () => (await rig.sink()).state === 'streaming', 30_000, 200);
    await rig.emulator.fault('expireTokens');
    await rig.emulator.fault('failNextIngest', Grpc.UNAVAILABLE);
    const rows0 = await rig.emulator.rowCount();
    await eventually('rows with a fresh token', async () => (await rig.emulator.rowCount()) > rows0 + 1000, 30_000, 200);
    await eventually('receipts in the log', () => rig.nodeRedLines().some((l) => /receipt/.test(l)), 15_000, 200);
    keep('diagnostics while streaming', { status: 200, text: JSON.stringify(await rig.diagnostics()) });
    // the effective configuration names the client id and table, never the secret or the key
    const config = keep('config while streaming', await request(`${rig.base}/config`, { headers: { authorization: `Bearer ${API_KEY}` } }));
    assert.equal(config.status, 200, config.text);
    assert.equal(JSON.parse(config.text).oauthClientId, CLIENT_ID);
    assert.equal(keep('config wrong key', await request(`${rig.base}/config`, { headers: { authorization: `Bearer ${WRONG_KEY}` } })).status, 401);
    keep('flows after deploy', await request(`${rig.nodeRed.url}/flows`, { headers: auth(admin) }));

    // 6. plaintext off loopback is warned about; loopback is not
    const lines = rig.nodeRedLines();
    assert.ok(lines.some((l) => l.includes('plaintext http:// is used for 192.0.2.10')), 'no plaintext warning for a remote http:// endpoint');
    assert.ok(!lines.some((l) => l.includes('plaintext http:// is used for 127.0.0.1')), 'loopback must not be warned about');

    // 7. nothing anywhere holds a secret or a token
    const v = await rig.verify();
    const flowFile = fs.readFileSync(path.join(rig.nodeRed.userDir, 'flows.json'), 'utf8');
    const corpora: { what: string; text: string }[] = [
      { what: 'process output', text: rig.lines.join('\n') },
      { what: 'comms', text: commsMessages.join('\n') },
      { what: 'flows.json', text: flowFile },
      ...answers,
    ];
    const leaks: string[] = [];
    for (const c of corpora) for (const s of SECRETS) if (c.text.includes(s)) leaks.push(`${s.slice(0, 12)}… in ${c.what}`);
    report('security', {
      linesScanned: rig.lines.length, commsMessages: commsMessages.length, answers: answers.length, secretsChecked: SECRETS.length, leaks: leaks.length,
      failedWith: failed.lastError, anonymous: anonymous.status, readOnly: readOnly.status, wrongKey: wrongKey.status, accepted: v.accepted, missing: v.missing,
    });
    const commsText = commsMessages.join('\n');
    for (const topic of ['"topic":"debug"', '"topic":"status/', '"topic":"zerobus/stats/']) assert.ok(commsText.includes(topic), `no ${topic} message reached the editor socket`);
    assert.ok(rig.lines.some((l) => l.includes('[debug:caught]')), 'the catch debug node printed nothing: the error path was not exercised');
    assert.deepEqual(leaks, []);
    rig.expectComplete(v, 1000);
  });
});
