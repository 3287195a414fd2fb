/**
 * The bundled example flows (examples/*.json), merged into one flow file for the demo and the
 * tests, with the emulator and broker addresses rewritten to the ports actually in use.
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

export function exampleFiles(): string[] {
  return fs
    .readdirSync(EXAMPLES_DIR)
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
    }
    return node;
  });
}

export function allExampleFlows(ports: Endpoints): FlowNode[] {
  return exampleFiles().flatMap((f) => loadExample(f, ports));
}
