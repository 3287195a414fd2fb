/**
 * The editor as a user sees it, in headless Chromium (Debian's, driven by playwright-core):
 * every node of the package in the palette; every node, config node and tab of every example flow
 * (all folders of examples/, so examples added later are checked too) opens and closes with Done
 * without changing anything; help is there; and the Zerobus sidebar shows live figures while demo
 * traffic runs. Screenshots go to test-artifacts/editor/.
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
import { allExampleFlows, exampleFiles } from '../../demo/example-flows';
import { IgnitionGatewaySimulator } from '../../demo/ignition-simulator';
import { NodeRedProcess } from '../../demo/node-red-process';
import { SparkplugEdgeSimulator } from '../../demo/sparkplug-simulator';
import { eventually, requireBuiltPackage } from '../support/dist';
import { haveChromium, launchChromium } from '../support/chromium';

const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts', 'editor');
const PALETTE = [
  { type: 'zerobus-out', label: 'zerobus out' },
  { type: 'zerobus-ignition-in', label: 'ignition in' },
  { type: 'zerobus-batch', label: 'tag batch' },
  { type: 'zerobus-sparkplug-in', label: 'sparkplug in' },
];

describe('the editor in a browser', function () {
  this.timeout(180_000);
  if (!haveChromium()) return;
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
    const flows = allExampleFlows({ grpcPort: emulator.grpcPort, httpPort: emulator.httpPort, mqttPort }, exampleFiles(true));
    // An empty credentials record per node, as a deployed flow has: without any record, Node-RED's
    // editor counts a blank password box (API key, broker password) as a change on Done.
    const credentials = Object.fromEntries(flows.map((n) => [n.id, {}]));
    nodeRed = new NodeRedProcess({ userDir: path.join(dir, 'nr'), flows, credentials, settings: {
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
    browser = await launchChromium(['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic']);
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

  /** Opens the node's (or tab's) edit dialog, as a double click does. */
  async function openDialog(id: string): Promise<void> {
    await page.evaluate((nodeId) => {
      const RED = (window as any).RED;
      const ws = RED.nodes.workspace(nodeId);
      const node = RED.nodes.node(nodeId);
      if (ws) RED.editor.editFlow(ws);
      else if (node._def.category === 'config') RED.editor.editConfig('', node.type, nodeId);
      else RED.editor.edit(node);
    }, id);
    const tray = page.locator('.red-ui-tray').last();
    await tray.waitFor({ state: 'visible' });
    // The tray slides in before its form is built: nodes with credentials and tabs first fetch
    // them over HTTP. Node-RED adds the Properties/Description/Appearance tabs once the form,
    // oneditprepare included, is complete; a user sees the form before pressing Done.
    await tray.locator('.red-ui-tray-body .red-ui-tabs').first().waitFor({ state: 'attached' });
  }

  async function pressDone(what: string): Promise<void> {
    const tray = page.locator('.red-ui-tray').last();
    await tray.locator('#node-dialog-ok, #node-config-dialog-ok').first().click();
    await page.waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0, null, { timeout: 10_000 })
      .catch((err: Error) => { throw new Error(`${what}: the dialog stayed open after Done (${err.message}); console: ${JSON.stringify(consoleErrors)}`); });
  }

  /** The node as Export would write it, credentials aside. */
  function exported(id: string): Promise<string> {
    return page.evaluate((nodeId) => {
      const RED = (window as any).RED;
      return JSON.stringify(RED.nodes.createCompleteNodeSet({ credentials: false }).find((n: { id: string }) => n.id === nodeId));
    }, id);
  }

  const deployDisabled = () => page.evaluate(() => document.querySelector('#red-ui-header-button-deploy')!.classList.contains('disabled'));

  it('loads every example with every property its editor defines, tabs complete and enabled', async () => {
    for (const file of exampleFiles(true)) {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>[];
      const missing = await page.evaluate((nodes) => {
        const RED = (window as any).RED;
        const out: string[] = [];
        for (const n of nodes) {
          const defaults = n.type === 'tab' ? { label: { value: '' }, disabled: { value: false }, locked: { value: false }, info: { value: '' }, env: { value: [] } } : RED.nodes.getType(n.type)?.defaults;
          if (!defaults) out.push(`${n.type}: unknown type`);
          else for (const p of Object.keys(defaults)) if (defaults[p].value !== undefined && !(p in n)) out.push(`${n.type} "${n.name ?? n.label ?? n.id}" lacks ${p}`);
          if (n.type === 'tab' && RED.nodes.workspace(n.id)?.disabled !== false) out.push(`tab ${n.label} is disabled in the editor`);
        }
        return out;
      }, flow);
      assert.deepEqual(missing, [], path.relative(PACKAGE_ROOT, file));
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
    await tray.waitFor({ state: 'detached' });
    const saved = await page.evaluate((id) => {
      const n = (window as any).RED.nodes.node(id);
      return { rules: n.rules, changed: !!n.changed, valid: n.valid !== false };
    }, stored.id as string);
    assert.deepEqual(saved.rules, rules);
    assert.equal(saved.changed, false, 'opening and saving the dialog changed nothing');
    assert.equal(saved.valid, true);
    assert.deepEqual(consoleErrors.slice(before), []);
  });

  it('has one config node per thing, each with its own name', async () => {
    const configs = await page.evaluate(() => {
      const out: { type: string; label: string }[] = [];
      (window as any).RED.nodes.eachConfig((n: any) => { if (!n.z) out.push({ type: n.type, label: n.name }); });
      return out;
    });
    const labels = configs.map((c) => c.label);
    assert.deepEqual(labels.filter((l, i) => labels.indexOf(l) !== i), [], `config node names: ${labels.join(', ')}`);
    assert.equal(configs.filter((c) => c.type === 'zerobus-config').length, 1, 'the examples share one Zerobus connection');
    await page.evaluate(() => (window as any).RED.sidebar.show('config'));
    // the list is drawn: the shared connection's entry is there (then nothing may be drawn disabled)
    await page.locator('.red-ui-sidebar-node-config .red-ui-palette-node-config').first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('.red-ui-sidebar-config-category-disabled, .red-ui-palette-node-config-disabled').count(), 0, 'no config node drawn as disabled');
    await page.screenshot({ path: path.join(ARTIFACTS, 'config-nodes.png') });
  });

  it('changes nothing when any dialog of any example is closed with Done', async () => {
    assert.equal(await deployDisabled(), true, 'Deploy is disabled before any edit');
    const shot = new Set<string>();
    for (const file of exampleFiles(true)) {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as { id: string; type: string; name?: string; label?: string; format?: string }[];
      for (const n of flow) {
        const what = `${path.basename(file)}: ${n.type} "${n.name ?? n.label ?? n.id}"`;
        const before = await exported(n.id);
        const errors = consoleErrors.length;
        await openDialog(n.id);
        const variant = n.type + (n.format === 'rows' ? '-rows' : '');
        if (/^zerobus-/.test(n.type) && !shot.has(variant)) {
          shot.add(variant);
          await page.waitForTimeout(400); // the tray slides in
          await page.screenshot({ path: path.join(ARTIFACTS, `dialog-${variant}.png`) });
          const fields = await page.locator('.red-ui-tray').last().locator('.form-row input, .form-row select, .form-row textarea').count();
          assert.ok(fields > 0, `${n.type} dialog has fields`);
          const cut = await page.evaluate(() => Array.from(document.querySelectorAll('.red-ui-tray .red-ui-typedInput-option-label, .red-ui-tray select'))
            .filter((el) => (el as HTMLElement).offsetParent && el.scrollWidth > el.clientWidth + 1)
            .map((el) => (el as HTMLElement).innerText.split('\n')[0]));
          assert.deepEqual(cut, [], `${what}: texts cut off in the dialog`);
        }
        await pressDone(what);
        assert.equal(await exported(n.id), before, `${what} changed by Done`);
        assert.equal(await deployDisabled(), true, `Deploy lit up after Done on ${what}`);
        assert.deepEqual(consoleErrors.slice(errors), [], `console errors while editing ${what}`);
      }
    }
    for (const type of ['zerobus-config', 'zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in']) {
      assert.ok(shot.has(type), `${type} edited`);
      const help = await page.evaluate((t) => document.querySelector(`script[data-help-name="${t}"]`)?.textContent ?? (window as any).RED.nodes.getNodeHelp?.(t) ?? '', type);
      assert.ok(help.length > 100, `${type} has help`);
    }
  });

  it('titles every dialog and help entry with a readable name, not the raw type', async () => {
    for (const type of ['zerobus-config', 'zerobus-sparkplug-broker']) {
      const id = await page.evaluate((t) => { let id = ''; (window as any).RED.nodes.eachConfig((n: any) => { if (n.type === t) id = n.id; }); return id; }, type);
      await openDialog(id);
      const title = await page.locator('.red-ui-tray').last().locator('.red-ui-tray-titlebar').innerText();
      assert.doesNotMatch(title, /zerobus-/, `dialog title "${title}"`);
      await pressDone(type);
    }
    await page.evaluate(() => (window as any).RED.sidebar.show('help'));
    await page.locator('.red-ui-sidebar-help-toc').getByText('sparkplug broker').first().waitFor({ state: 'visible' });
    const index = await page.locator('.red-ui-sidebar-help-toc').innerText();
    assert.doesNotMatch(index, /zerobus-sparkplug-broker|zerobus-config/, 'help index names');
    assert.match(index, /sparkplug broker/);
  });

  it('shows every code span of the help whole in the Help sidebar', async () => {
    await page.evaluate(() => (window as any).RED.sidebar.show('help'));
    for (const type of ['zerobus-config', 'zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in']) {
      await page.evaluate((t) => (window as any).RED.sidebar.help.show(t, true), type);
      await page.waitForFunction(() => Array.from(document.querySelectorAll('.red-ui-help code')).some((c) => (c as HTMLElement).offsetParent));
      await page.screenshot({ path: path.join(ARTIFACTS, `help-${type}.png`) });
      const clipped = await page.evaluate(() => {
        const panel = document.querySelector('#red-ui-sidebar-content')!.getBoundingClientRect();
        return Array.from(document.querySelectorAll('.red-ui-help code')).filter((c) => (c as HTMLElement).offsetParent).filter((c) => c.getBoundingClientRect().right > panel.right + 1).map((c) => c.textContent);
      });
      assert.deepEqual(clipped, [], `${type}: code spans wider than the Help sidebar`);
    }
  });

  it('puts Name first in every dialog of the package', async () => {
    for (const type of ['zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-in', 'zerobus-config', 'zerobus-sparkplug-broker']) {
      const firstInput = await page.evaluate((t) => {
        const tpl = document.querySelector(`script[data-template-name="${t}"]`);
        const div = document.createElement('div');
        div.innerHTML = tpl?.innerHTML ?? '';
        return div.querySelector('.form-row input')?.id ?? '';
      }, type);
      assert.match(firstInput, /-name$/, `${type} starts with ${firstInput}`);
    }
  });

  it('shows per node, under its flow name, the figures that apply and a chart with labelled axes', async () => {
    await page.evaluate(() => (window as any).RED.sidebar.show('zerobus'));
    const cards = page.locator('.red-ui-zerobus-node');
    await eventually('live figures', async () => {
      const text = await page.locator('.red-ui-zerobus-node .f-in .red-ui-zerobus-value').allInnerTexts();
      return text.some((t) => /[1-9]/.test(t));
    }, 30_000);
    assert.ok((await cards.count()) >= 5, `sidebar lists ${await cards.count()} nodes`);
    const seen = await page.evaluate(() => Array.from(document.querySelectorAll('.red-ui-zerobus-node')).map((c) => ({
      id: c.getAttribute('data-node-id')!,
      flow: (c.querySelector('.red-ui-zerobus-flow span') as HTMLElement).innerText,
      type: (c.querySelector('.red-ui-zerobus-type') as HTMLElement).innerText,
      // every figure on show has a value: none is a placeholder dash or blank
      blank: Array.from(c.querySelectorAll('.red-ui-zerobus-figure')).filter((f) => (f as HTMLElement).offsetParent && !/\d/.test((f.querySelector('.red-ui-zerobus-value') as HTMLElement).innerText)).map((f) => f.querySelector('.red-ui-zerobus-label')!.textContent),
      rateAxis: (c.querySelector('.red-ui-zerobus-axis.y-left.top') as HTMLElement).innerText,
      timeAxis: (c.querySelector('.red-ui-zerobus-xaxis') as HTMLElement).innerText.replace(/\s+/g, ' '),
      legend: (c.querySelector('.red-ui-zerobus-legend') as HTMLElement).innerText,
      chartWidth: (c.querySelector('canvas') as HTMLElement).clientWidth,
    })));
    for (const card of seen) {
      const node = await page.evaluate((id) => { const RED = (window as any).RED; const n = RED.nodes.node(id); return { flow: RED.nodes.workspace(n.z).label }; }, card.id);
      assert.equal(card.flow, node.flow, `card ${card.id} names its flow`);
      assert.deepEqual(card.blank, [], `${card.type} card in ${card.flow}: figures without a value`);
      assert.match(card.rateAxis, /^\d.*\/s$/, 'the rate axis is labelled with its scale');
      assert.equal(card.timeAxis, '5 min ago now');
      assert.match(card.legend, /\bin \/s/);
      if (card.type === 'zerobus out') assert.match(card.legend, /acknowledged \/s.*backlog/);
      assert.ok(card.chartWidth > 150, `a chart per card, ${card.chartWidth}px wide`);
    }
    assert.ok(new Set(seen.map((c) => c.flow)).size >= 4, 'cards of several flows');
    const icons = await page.evaluate(() => ['zerobus', 'context'].map((id) => document.querySelector(`#red-ui-tab-${id} i`)?.className ?? ''));
    assert.notEqual(icons[0], icons[1], 'the Zerobus tab has its own icon');
    assert.match(icons[0], /fa-/);
  });

  it('shows a slow source honestly, per minute: one event every 5 s is not 0/s', async () => {
    const monitoring = page.locator('.red-ui-zerobus-node', { has: page.locator('.red-ui-zerobus-flow', { hasText: 'Monitoring' }) }).first();
    const rate = await eventually('a per-minute rate', async () => {
      const t = await monitoring.locator('.f-in .red-ui-zerobus-value').innerText();
      return /^\d+(\.\d)?\/min$/.test(t) && t;
    }, 30_000);
    const perMinute = parseFloat(String(rate));
    assert.ok(perMinute >= 6 && perMinute <= 24, `about 12/min, got ${rate}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'sidebar.png') });
    await page.locator('.red-ui-zerobus-sidebar').screenshot({ path: path.join(ARTIFACTS, 'sidebar-cards.png') });
  });

  it('draws no status text over another node, in any example flow', async () => {
    // the longest status of the demo traffic: ignition in while receiving
    await eventually('a receiving status', () => page.evaluate(() => /events\/s/.test((window as any).RED.nodes.node('a1f0c0de00000003').status?.text ?? '')), 30_000);
    const overlaps: string[] = [];
    for (const file of exampleFiles(true)) {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as { id: string; type: string; z?: string }[];
      const tab = flow.find((n) => n.type === 'tab')!;
      const drawn = flow.filter((n) => n.z === tab.id && n.type !== 'group' && n.type !== 'junction').length;
      await page.evaluate((id) => (window as any).RED.workspaces.show(id), tab.id);
      // statuses are drawn with the view: wait until every node of the tab is on the canvas
      await page.waitForFunction((n) => document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group').length >= n, drawn);
      overlaps.push(...(await page.evaluate(() => {
        const nodes = Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group'));
        const out: string[] = [];
        for (const n of nodes) {
          const label = n.querySelector('.red-ui-flow-node-status-label');
          if (!label || !label.textContent) continue;
          const s = label.getBoundingClientRect();
          for (const other of nodes) {
            const body = other.querySelector('rect.red-ui-flow-node');
            if (other === n || !body) continue;
            const o = body.getBoundingClientRect();
            // a status is drawn under its node: it runs under the next node when it reaches below that node's box
            const sameRow = o.bottom <= s.top + 2 && s.top - o.bottom < 30;
            if (sameRow && s.right > o.left && s.left < o.right) out.push(`"${label.textContent}" runs over ${other.querySelector('.red-ui-flow-node-label')?.textContent}`);
          }
        }
        return out;
      })));
    }
    await page.evaluate(() => (window as any).RED.workspaces.show('a1f0c0de00000001'));
    assert.deepEqual(overlaps, []);
  });

  it('reveals the node of a card that is clicked', async () => {
    const card = page.locator('.red-ui-zerobus-node', { has: page.locator('.red-ui-zerobus-flow', { hasText: 'Sparkplug B' }) }).first();
    const id = await card.getAttribute('data-node-id');
    await card.click();
    await page.waitForFunction((nodeId) => {
      const RED = (window as any).RED;
      return RED.workspaces.active() === RED.nodes.node(nodeId).z;
    }, id);
    assert.deepEqual(consoleErrors, []);
  });
});
