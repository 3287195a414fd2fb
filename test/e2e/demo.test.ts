/**
 * `npm start` as a newcomer runs it: the demo script starts every piece, rows from both the
 * Ignition and the Sparkplug simulators reach the emulator within seconds, the emulator page
 * answers, and one SIGINT (Ctrl-C) stops everything with exit code 0.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { PACKAGE_ROOT } from '../../lib/paths';
import { eventually, requireBuiltPackage } from '../support/dist';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

describe('npm start (the demo)', function () {
  this.timeout(120_000);
  let child: ChildProcess;
  let dir: string;
  let output = '';

  before(() => {
    requireBuiltPackage();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-demo-'));
    child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(PACKAGE_ROOT, 'demo', 'start.ts'), '--port', '0', '--dir', dir, '--rate', '500'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the editor and emulator page URLs', async () => {
    await eventually('the demo to be running', () => output.includes('The demo is running.'), 60_000);
    assert.match(output, /Node-RED editor:\s+http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(output, /Zerobus emulator page:\s+http:\/\/127\.0\.0\.1:\d+\//);
    // the two surprises of the demo, said up front
    assert.match(output, /written afresh at every start: edits made in this\s+editor are lost/);
    assert.match(output, /importing one again makes a second receiver/);
  });

  it('shows rows from Ignition and Sparkplug in the emulator within seconds', async () => {
    const page = /Zerobus emulator page:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)![1];
    const home = await get(`${page}/`);
    assert.equal(home.status, 200);
    assert.match(home.body, /<html/i);
    // the demo recycles streams within minutes, so that their close and rollover can be seen
    assert.match(output, /Zerobus streams are recycled every 180 s/);
    assert.equal((JSON.parse((await get(`${page}/api/stats`)).body) as { streamMaxAgeMs: number }).streamMaxAgeMs, 180_000);
    await eventually('rows from both sources', async () => {
      const res = await get(`${page}/api/tables/main.ot.tag_events/rows?limit=2000`);
      const rows = JSON.parse(res.body) as { tag_path: string }[];
      return rows.some((r) => r.tag_path.startsWith('[Sample_Tags]')) && rows.some((r) => r.tag_path.startsWith('[MQTT Engine]'));
    }, 30_000);
  });

  it('stops everything on one Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 0, output.slice(-2000));
  });
});
