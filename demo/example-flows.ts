/**
 * The bundled example flows (examples/*.json), merged into one flow file for the demo and the
 * tests, with the emulator and broker addresses rewritten to the ports actually in use. The
 * examples share one "Local Zerobus emulator" config node (same id in every file, so importing a
 * second example reuses it); merging keeps one copy. The flows in the sub-folders
 * (examples/ignition/, examples/tables/) are tools to import by hand, not part of the demo.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';

export const EXAMPLES_DIR = path.join(PACKAGE_ROOT, 'examples');

export interface Endpoints {
  grpcPort: number;
  httpPort: number;
  mqttPort: number;
}

/** The example flow files: the top level (the demo's flows), or with `nested` every folder, as Import → Examples lists them. */
export function exampleFiles(nested = false): string[] {
  return fs
    .readdirSync(EXAMPLES_DIR, { recursive: nested })
    .map(String)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(EXAMPLES_DIR, f));
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

export function loadExample(file: string, ports: Endpoints): FlowNode[] {
  const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as FlowNode[];
  return flow.map((n) => {
    const node = { ...n };
    if (node.type === 'zerobus-config') {
      node.endpoint = `http://127.0.0.1:${ports.grpcPort}`;
      node.workspaceUrl = `http://127.0.0.1:${ports.httpPort}`;
    } else if (node.type === 'zerobus-sparkplug-broker') {
      node.url = `mqtt://127.0.0.1:${ports.mqttPort}`;
    } else if (node.type === 'mqtt-broker') {
      node.broker = '127.0.0.1';
      node.port = String(ports.mqttPort);
    } else if (node.type === 'http request' && typeof node.url === 'string') {
      node.url = node.url.replace('127.0.0.1:50052', `127.0.0.1:${ports.httpPort}`);
    }
    return node;
  });
}

export function allExampleFlows(ports: Endpoints, files = exampleFiles()): FlowNode[] {
  const byId = new Map<string, FlowNode>();
  for (const node of files.flatMap((f) => loadExample(f, ports))) if (!byId.has(node.id)) byId.set(node.id, node);
  return [...byId.values()];
}
