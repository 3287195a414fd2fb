#!/usr/bin/env node
'use strict';
// Compiles TypeScript to dist/ and places every editor file where Node-RED looks for it:
// the node's .html (and locales/) beside its compiled .js, and icons/ beside each node file.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
// `--stage DIR` builds a complete copy of the package in DIR (package.json, proto, examples,
// dist, a node_modules link) so that a test run can load a build that no one else rewrites.
const stageIdx = process.argv.indexOf('--stage');
const stage = stageIdx > 0 ? path.resolve(process.argv[stageIdx + 1]) : undefined;
const pkgRoot = stage || root;
const dist = path.join(pkgRoot, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dist], { stdio: 'inherit' });

function copyTree(from, to, filter) {
  if (!fs.existsSync(from)) return;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, filter);
    else if (filter(src)) {
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

const nodesSrc = path.join(root, 'nodes');
const nodesDist = path.join(dist, 'nodes');
copyTree(nodesSrc, nodesDist, (f) => !f.endsWith('.ts'));
// Icons are looked up only beside registered node files, so every node folder gets a copy.
if (fs.existsSync(nodesSrc)) {
  for (const entry of fs.readdirSync(nodesSrc, { withFileTypes: true })) {
    if (entry.isDirectory()) copyTree(path.join(root, 'icons'), path.join(nodesDist, entry.name, 'icons'), () => true);
  }
}
if (stage) {
  for (const f of ['package.json', 'README.md', 'LICENSE']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
  for (const d of ['proto', 'examples']) copyTree(path.join(root, d), path.join(stage, d), () => true);
  const modules = path.join(stage, 'node_modules');
  if (!fs.existsSync(modules)) fs.symlinkSync(path.join(root, 'node_modules'), modules, 'dir');
}
const cli = path.join(dist, 'lib', 'emulator', 'cli.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
