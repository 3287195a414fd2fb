/**
 * The Zerobus sidebar's card for a zerobus-out on several streams, in headless Chromium: the
 * plugin's own script (nodes/zerobus-sidebar/zerobus-sidebar.html) with the editor's jQuery,
 * behind a stand-in for the few RED calls it makes, fed the figures zerobus-out publishes.
 * test/e2e/editor.test.ts covers the sidebar inside a whole Node-RED with demo traffic.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../lib/paths';
import { LIVE_STATS_TOPIC, type LiveStatsPayload, type LiveStreamFigures } from '../../nodes/common/live-stats';
import { haveChromium, launchChromium } from '../support/chromium';

const EDITOR_VENDOR = path.join(path.dirname(require.resolve('@node-red/editor-client/package.json')), 'public', 'vendor', 'vendor.js');

/** What the plugin asks of RED, recording the comms subscription so the test can publish. */
const FAKE_RED = `
window.RED = {
  nodes: { node: function () { return null; }, workspace: function () { return null; }, subflow: function () { return null; } },
  view: { reveal: function () {} },
  actions: { add: function () {}, remove: function () {} },
  sidebar: { addTab: function (tab) { document.body.appendChild(tab.content[0]); }, show: function () {}, removeTab: function () {} },
  comms: { subscribe: function (topic, fn) { window.publish = fn; }, unsubscribe: function () {} },
  plugins: { registerPlugin: function (id, def) { def.onadd(); } }
};`;

describe('the Zerobus sidebar card of a zerobus-out on several streams', function () {
  this.timeout(60_000);
  if (!haveChromium()) return;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 400, height: 900 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: EDITOR_VENDOR });
    await page.addScriptTag({ content: FAKE_RED });
    // the plugin file as Node-RED serves it: its <script> and <style> blocks
    const html = fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', 'zerobus-sidebar', 'zerobus-sidebar.html'), 'utf8');
    await page.addStyleTag({ content: /<style>([\s\S]*?)<\/style>/.exec(html)![1] });
    await page.addScriptTag({ content: /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1] });
  });
  after(async () => {
    await browser?.close();
  });

  const stream = (index: number, extra: Partial<LiveStreamFigures> = {}): LiveStreamFigures => ({ index, state: 'open', inFlight: 1200 * index, ackedPerSec: 19_500 + index, retiring: false, ...extra });
  const figures = (streams: LiveStreamFigures[] | undefined, chip?: string): Omit<LiveStatsPayload, 'at'> => ({
    id: 'out1', type: 'zerobus-out', name: 'to delta', state: 'streaming', eventsPerSec: 78_000, ackedPerSec: 78_000, totalIn: 1, totalAcked: 1,
    inFlight: 7200, backlog: 0, latencyP50: 3, latencyP99: 9, reconnects: 0, streams,
    extra: { table: 'main.ot.tag_events', spool: 'disk', rejected: 0, dropped: 0, ...(chip ? { streams: chip } : {}) },
  });
  const publish = (data: object) => page.evaluate(({ topic, data }) => (window as any).publish(topic, data), { topic: `${LIVE_STATS_TOPIC}/out1`, data });
  const card = () => page.evaluate(() => {
    const table = document.querySelector('.red-ui-zerobus-node .red-ui-zerobus-streams') as HTMLElement;
    return {
      shown: !!table && table.offsetParent !== null,
      rows: Array.from(table?.querySelectorAll('tbody tr') ?? []).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td as HTMLElement).innerText)),
      chips: Array.from(document.querySelectorAll('.red-ui-zerobus-node .red-ui-zerobus-chip')).map((c) => (c as HTMLElement).innerText),
    };
  });

  it('lists each stream with its state, records in flight and acknowledged rate, and the stream count', async () => {
    await publish(figures([stream(0), stream(1), stream(2, { state: 'reconnecting', inFlight: 0, ackedPerSec: 0 }), stream(3)], '4'));
    const shown = await card();
    assert.equal(shown.shown, true, 'the streams table is on show');
    assert.deepEqual(shown.rows, [
      ['0', 'open', '0', '20k/s'],
      ['1', 'open', '1.2k', '20k/s'],
      ['2', 'reconnecting', '0', '0/s'],
      ['3', 'open', '3.6k', '20k/s'],
    ]);
    assert.ok(shown.chips.includes('streams: 4'), shown.chips.join(', '));
    const classes = await page.evaluate(() => Array.from(document.querySelectorAll('.red-ui-zerobus-streams .red-ui-zerobus-state')).map((s) => s.className));
    assert.match(classes[0], /\bgood\b/);
    assert.match(classes[2], /\bwarn\b/);
    assert.deepEqual(errors, []);
  });

  it('auto: a stream being closed says so, and the chip names mode and ceiling', async () => {
    await publish(figures([stream(0), stream(1, { retiring: true })], '2 (auto, max 8)'));
    const shown = await card();
    assert.deepEqual(shown.rows.map((r) => r[1]), ['open', 'open, closing']);
    assert.ok(shown.chips.includes('streams: 2 (auto, max 8)'));
  });

  it('back to one stream: the table goes, the card is as it always was', async () => {
    await publish(figures(undefined));
    const shown = await card();
    assert.equal(shown.shown, false);
    assert.deepEqual(shown.rows, []);
    assert.ok(!shown.chips.some((c) => c.startsWith('streams')));
    assert.deepEqual(errors, []);
  });
});
