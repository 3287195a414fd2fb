/**
 * The checks of the Flow Library scorecard (`node-red-dev validate`) and of Node-RED's loader,
 * made offline: the real tool needs the internet. Plus what users see: help with the sections
 * Node-RED users expect, message catalogs, icons that exist.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'));
const nodeFiles: Record<string, string> = pkg['node-red'].nodes;
const types = Object.keys(nodeFiles);

function sourceHtml(type: string): string {
  return fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', type, `${type}.html`), 'utf8');
}

function registration(type: string): Record<string, string> {
  const html = sourceHtml(type);
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const at = script.indexOf(`RED.nodes.registerType('${type}', {`);
  assert.ok(at >= 0, `${type}: a literal RED.nodes.registerType('${type}', {...}) in a text/javascript script`);
  const body = script.slice(at);
  const field = (name: string) => new RegExp(`\\n\\s*${name}:\\s*([^,\\n]+)`).exec(body)?.[1]?.trim() ?? '';
  return { category: field('category'), color: field('color'), icon: field('icon'), inputs: field('inputs'), outputs: field('outputs'), paletteLabel: field('paletteLabel') };
}

function examples(dir = path.join(PACKAGE_ROOT, 'examples')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? examples(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
}

describe('package and Flow Library scorecard (offline)', () => {
  it('package.json: license, repository, bugs, node-red keyword, open version range, engines (P01–P07)', () => {
    assert.ok(pkg.license);
    assert.ok(pkg.repository?.url && pkg.bugs?.url);
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg['node-red'].version, '>=4.0.0');
    assert.equal(pkg.engines.node, '>=20');
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-zerobus$/);
  });

  it('has at most 6 runtime dependencies, none of them Node-RED itself, none native (D01)', () => {
    const deps = Object.keys(pkg.dependencies);
    assert.ok(deps.length <= 6, deps.join());
    assert.ok(!deps.includes('node-red'));
    for (const dep of deps) {
      const manifest = JSON.parse(fs.readFileSync(require.resolve(`${dep}/package.json`, { paths: [PACKAGE_ROOT] }), 'utf8'));
      assert.ok(!manifest.gypfile && !manifest.binary, `${dep} is pure JavaScript`);
    }
  });

  it('builds on prepack, never on install (palette installs need no compiler)', () => {
    assert.equal(pkg.scripts.postinstall, undefined);
    assert.equal(pkg.scripts.install, undefined);
    assert.match(pkg.scripts.prepack, /build/);
  });

  it('maps every node type of docs/DESIGN.md §4 to dist/nodes/<type>/<type>.js', () => {
    assert.deepEqual(types.sort(), ['zerobus-batch', 'zerobus-config', 'zerobus-ignition-in', 'zerobus-out', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in']);
    for (const type of types) assert.equal(nodeFiles[type], `dist/nodes/${type}/${type}.js`);
  });

  for (const type of ['zerobus-config', 'zerobus-out', 'zerobus-ignition-in', 'zerobus-batch', 'zerobus-sparkplug-broker', 'zerobus-sparkplug-in']) {
    describe(type, () => {
      it('registers with literal category, colour, icon and ports, in the family colour (N01 parser)', () => {
        const r = registration(type);
        const config = r.category === "'config'";
        if (!config) {
          assert.equal(r.category, "'zerobus'");
          assert.match(r.inputs, /^[01]$/);
          assert.match(r.outputs, /^\d$/);
        }
        assert.equal(r.color, "'#E9967A'");
        const icon = /^'(.+)'$/.exec(r.icon)?.[1] ?? '';
        assert.ok(icon.startsWith('font-awesome/') || fs.existsSync(path.join(PACKAGE_ROOT, 'icons', icon)), `icon ${icon} exists`);
      });

      it('has a message catalog and help with Inputs, Outputs (flow nodes), Details and References', () => {
        const dir = path.join(PACKAGE_ROOT, 'nodes', type, 'locales', 'en-US');
        const catalog = JSON.parse(fs.readFileSync(path.join(dir, `${type}.json`), 'utf8'));
        assert.ok(catalog[type], 'catalog keyed by the type');
        const help = fs.readFileSync(path.join(dir, `${type}.html`), 'utf8');
        assert.match(help, new RegExp(`data-help-name="${type}"`));
        const config = registration(type).category === "'config'";
        const sections = config ? ['Details', 'References'] : ['Inputs', 'Outputs', 'Details', 'References'];
        for (const section of sections) assert.match(help, new RegExp(`<h3>${section}</h3>`), `${type} help has ${section}`);
      });

      it('keeps secrets in credentials only (never in defaults)', () => {
        const html = sourceHtml(type);
        const defaults = /defaults:\s*\{([\s\S]*?)\n\s*\},/.exec(html)?.[1] ?? '';
        assert.doesNotMatch(defaults, /\b(clientSecret|password|token|apiKey)\s*:/);
      });
    });
  }

  it('ships an example flow using every non-config node (N02), each a JSON array', () => {
    const used = new Set<string>();
    for (const file of examples()) {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.ok(Array.isArray(flow), file);
      for (const n of flow) used.add(n.type);
    }
    for (const type of types.filter((t) => registration(t).category !== "'config'")) assert.ok(used.has(type), `${type} in an example`);
  });

  it('packs only paths that exist (package.json files)', () => {
    for (const entry of pkg.files as string[]) assert.ok(fs.existsSync(path.join(PACKAGE_ROOT, entry)), `files lists ${entry}, which does not exist`);
  });

  it('offers an importable flow in every folder that Import → Examples lists', () => {
    const root = path.join(PACKAGE_ROOT, 'examples');
    for (const dir of fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      assert.ok(examples(path.join(root, dir.name)).length > 0, `examples/${dir.name}/ would open empty in the editor`);
    }
  });

  it('examples: one config node per thing, the same id in every file, distinct names, tabs with every field', () => {
    const configs = new Map<string, string>();
    for (const file of examples()) {
      for (const n of JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>[]) {
        if (n.type === 'tab') assert.deepEqual(Object.keys(n).sort(), ['disabled', 'env', 'id', 'info', 'label', 'locked', 'type'], `${file}: tab fields`);
        if (n.type === 'tab' || n.z) continue;
        const key = `${n.type} ${n.name}`;
        const known = configs.get(key);
        assert.ok(!known || known === JSON.stringify(n), `${file}: ${key} differs from the one of another example`);
        configs.set(key, JSON.stringify(n));
      }
    }
    const names = [...configs.keys()].map((k) => k.replace(/^\S+ /, ''));
    assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), [], 'config nodes share a name');
  });

  it('exported example flows hold no credentials', () => {
    for (const file of examples()) assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /"credentials"|clientSecret|"password"/, file);
  });
});
