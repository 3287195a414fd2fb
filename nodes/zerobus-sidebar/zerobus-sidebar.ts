import type { NodeAPI } from 'node-red';

/**
 * The "Zerobus" editor sidebar. All of it lives in the editor (zerobus-sidebar.html); the
 * nodes feed it through RED.comms (nodes/common/live-stats.ts). The runtime side only
 * registers the plugin so that Node-RED serves the editor part.
 * `export =` because Node-RED 4.0 does not unwrap a default export for plugins.
 */
export = function zerobusSidebar(RED: NodeAPI): void {
  (RED as unknown as { plugins: { registerPlugin(id: string, def: object): void } }).plugins.registerPlugin('zerobus-sidebar', {
    type: 'zerobus-sidebar',
  });
};
