/**
 * The editor as a user sees it, in headless Chromium (Debian's, driven by playwright-core):
 * every node of the package in the palette, every edit dialog opens and saves without console
 * errors, help is there, and the Zerobus sidebar shows live figures while demo traffic runs.
 * Screenshots go to test-artifacts/editor/.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import Aedes from 'aedes';
import type { Browser, Page } from 'playwright-core';
import { startEmulator, Emulator } from '../../lib/emulator';
import { PACKAGE_ROOT } from '../../lib/paths';
import { allExampleFlows } from '../../demo/example-flows';
import { IgnitionGatewaySimulator } from '../../demo/ignition-simulator';
import { NodeRedProcess } from '../../demo/node-red-process';
import { SparkplugEdgeSimulator } from '../../demo/sparkplug-simulator';
import { eventually, requireBuiltPackage } from '../support/dist';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts', 'editor');
const PALETTE = [
  { type: 'zerobus-out', label: 'zerobus out' },
  { type: 'zerobus-ignition-in', label: 'ignition in' },
  { type: 'zerobus-batch', label: 'tag batch' },
  { type: 'zerobus-sparkplug-in', label: 'sparkplug in' },
];

describe('the editor in a browser', function () {
  this.timeout(180_000);
  if (!fs.existsSync(CHROMIUM)) {
    // CI installs chromium (.ci/run); there, a missing browser is a failure, not a skip
    if (process.env.CI) it('needs chromium', () => assert.fail(`${CHROMIUM} is not installed`));
    else it.skip(`needs ${CHROMIUM} (apt-get install chromium)`);
    return;
  }
  let dir: string;
  let emulator: Emulator;
  let aedes: Aedes;
  let broker: net.Server;
  let nodeRed: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const stops: (() => void)[] = [];

  before(async () => {
    requireBuiltPackage();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-editor-'));
    emulator = await startEmulator({ grpcPort: 0, httpPort: 0, schemaFiles: [path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'), path.join(PACKAGE_ROOT, 'examples/tables/energy_readings.sql')] });
    aedes = new Aedes();
    broker = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const mqttPort = (broker.address() as net.AddressInfo).port;
    nodeRed = new NodeRedProcess({ userDir: path.join(dir, 'nr'), flows: allExampleFlows({ grpcPort: emulator.grpcPort, httpPort: emulator.httpPort, mqttPort }), settings: {
      apiMaxLength: '11mb',
      // the palette manager's catalogue lives on the internet, which this machine does not reach
      editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    } });
    nodeRed.prepare();
    await nodeRed.start();
    const gateway = new IgnitionGatewaySimulator({ url: `${nodeRed.url}/system/zerobus/ingest/batch`, eventsPerSecond: 1000, intervalMs: 200 });
    const edge = new SparkplugEdgeSimulator({ brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, intervalMs: 500 });
    for (const s of [gateway, edge]) {
      s.start();
      stops.push(() => s.stop());
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
    await page.goto(`${nodeRed.url}/`);
    await page.waitForFunction(() => (window as any).RED?.nodes?.getType && document.querySelector('#red-ui-palette .red-ui-palette-node'), null, { timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    stops.forEach((s) => s());
    await nodeRed?.stop();
    await new Promise<void>((resolve) => (aedes ? aedes.close(() => broker.close(() => resolve())) : resolve()));
    await emulator?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows every node of the package in the palette with its label', async () => {
    for (const { type, label } of PALETTE) {
      const el = page.locator(`#red-ui-palette .red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await el.count(), 1, `${type} in the palette`);
      assert.equal((await el.innerText()).trim(), label);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'palette.png') });
  });

  it('opens and saves every edit dialog without console errors, with help', async () => {
    const ids = await page.evaluate(() => {
      const RED = (window as any).RED;
      const out: { id: string; type: string; config: boolean }[] = [];
      RED.nodes.eachNode((n: any) => { if (/^zerobus-/.test(n.type)) out.push({ id: n.id, type: n.type, config: false }); });
      RED.nodes.eachConfig((n: any) => { if (/^zerobus-/.test(n.type)) out.push({ id: n.id, type: n.type, config: true }); });
      return out;
    });
    const seen = new Set<string>();
    for (const node of ids) {
      if (seen.has(node.type)) continue;
      seen.add(node.type);
      const before = consoleErrors.length;
      await page.evaluate(({ id, config }) => {
        const RED = (window as any).RED;
        if (config) RED.editor.editConfig('', RED.nodes.node(id).type, id);
        else RED.editor.edit(RED.nodes.node(id));
      }, node);
      const tray = page.locator('.red-ui-tray').last();
      await tray.waitFor({ state: 'visible' });
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(ARTIFACTS, `dialog-${node.type}.png`) });
      const fields = await tray.locator('.form-row input, .form-row select, .form-row textarea').count();
      assert.ok(fields > 0, `${node.type} dialog has fields`);
      await tray.locator(node.config ? '#node-config-dialog-ok' : '#node-dialog-ok').click();
      await page.waitForTimeout(400);
      assert.deepEqual(consoleErrors.slice(before), [], `console errors while editing ${node.type}`);
      const help = await page.evaluate((type) => {
        const el = document.querySelector(`script[data-help-name="${type}"]`);
        return el ? el.textContent ?? '' : (window as any).RED.nodes.getType(type)?.help ?? '';
      }, node.type);
      assert.ok(help.length > 100 || (await page.evaluate((t) => !!(window as any).RED.nodes.getNodeHelp?.(t), node.type)), `${node.type} has help`);
    }
    for (const type of ['zerobus-config', 'zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in']) {
      assert.ok(seen.has(type), `${type} edited`);
    }
  });

  it('shows the compression rules of example 05 exactly as stored, and saves them unchanged', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', '05 Compression rules.json'), 'utf8')) as Record<string, unknown>[];
    const stored = example.find((n) => n.type === 'zerobus-batch')!;
    const before = consoleErrors.length;
    await page.evaluate((id) => {
      const RED = (window as any).RED;
      RED.editor.edit(RED.nodes.node(id));
    }, stored.id as string);
    const tray = page.locator('.red-ui-tray').last();
    await tray.waitFor({ state: 'visible' });
    const rows = tray.locator('#node-input-rules-container > li');
    await rows.first().waitFor({ state: 'visible' });
    const rules = stored.rules as Record<string, unknown>[];
    assert.equal(await rows.count(), rules.length);
    for (let i = 0; i < rules.length; i++) {
      const row = rows.nth(i);
      assert.equal(await row.locator('.zb-rule-match').inputValue(), rules[i].match);
      assert.equal(await row.locator('.zb-rule-matchType').inputValue(), rules[i].matchType);
      assert.equal(await row.locator('.zb-rule-maxInterval').inputValue(), String(rules[i].maxInterval));
      assert.equal(await row.locator('.zb-rule-dropRepeats').isChecked(), rules[i].dropRepeats);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'dialog-zerobus-batch-rules.png') });
    await tray.locator('#node-dialog-ok').click();
    await page.waitForTimeout(400);
    const saved = await page.evaluate((id) => {
      const n = (window as any).RED.nodes.node(id);
      return { rules: n.rules, changed: !!n.changed, valid: n.valid !== false };
    }, stored.id as string);
    assert.deepEqual(saved.rules, rules);
    assert.equal(saved.changed, false, 'opening and saving the dialog changed nothing');
    assert.equal(saved.valid, true);
    assert.deepEqual(consoleErrors.slice(before), []);
  });

  it('shows live figures in the Zerobus sidebar while demo traffic runs', async () => {
    await page.evaluate(() => (window as any).RED.sidebar.show('zerobus'));
    await eventually('live figures', async () => {
      const text = await page.locator('.red-ui-zerobus-node .v-in').allInnerTexts();
      return text.some((t) => /\d/.test(t) && t.trim() !== '0');
    }, 30_000);
    const count = await page.locator('.red-ui-zerobus-node').count();
    assert.ok(count >= 3, `sidebar lists ${count} nodes`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'sidebar.png') });
    assert.deepEqual(consoleErrors, []);
  });
});
