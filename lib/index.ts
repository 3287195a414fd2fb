/**
 * What `require('@ot-lakehouse/node-red-zerobus')` gives (package.json `main`): the local
 * Zerobus emulator, for tests and scripts that run it in-process (docs/DESIGN.md §6: "also importable"),
 * and the Zerobus client the zerobus-out node streams with. The Node-RED nodes are loaded by
 * Node-RED from the `node-red` section, not from here.
 */
export * from './emulator';
export * from './zerobus';
