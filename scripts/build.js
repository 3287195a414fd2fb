#!/usr/bin/env node
'use strict';
// Compiles TypeScript to dist/ and places every editor file where Node-RED looks for it:
// the node's .html (and locales/) beside its compiled .js, and icons/ beside each node file.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

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
const cli = path.join(dist, 'lib', 'emulator', 'cli.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
