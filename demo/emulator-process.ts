/**
 * The emulator CLI as a separate process (as the real service is): for the demo, the
 * benchmarks and the chaos tests, which kill it with SIGKILL and start it again on the same data.
 */
import { ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';
import { LINKED_PACKAGE_DIR } from './node-red-process';

export interface EmulatorProcessOptions {
  grpcPort: number;
  httpPort: number;
  dataDir: string;
  schemaFiles?: string[];
  clientId?: string;
  clientSecret?: string;
  extraArgs?: string[];
  onLine?: (line: string) => void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; each caller reads the fields it expects
export function httpJson(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export class EmulatorProcess {
  private child: ChildProcess | undefined;
  readonly output: string[] = [];

  constructor(readonly opts: EmulatorProcessOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.opts.httpPort}`;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.opts.grpcPort}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    const o = this.opts;
    const args = [path.join(LINKED_PACKAGE_DIR, 'dist', 'lib', 'emulator', 'cli.js'), '--grpc-port', String(o.grpcPort), '--http-port', String(o.httpPort), '--data-dir', o.dataDir];
    for (const f of o.schemaFiles ?? [path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql')]) args.push('--schema', f);
    if (o.clientId) args.push('--client-id', o.clientId);
    if (o.clientSecret) args.push('--client-secret', o.clientSecret);
    args.push(...(o.extraArgs ?? []));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const onData = (c: Buffer) => {
      for (const line of c.toString('utf8').split('\n').filter(Boolean)) {
        this.output.push(line);
        if (this.output.length > 2000) this.output.shift();
        o.onLine?.(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`emulator exited with ${child.exitCode}: ${this.output.slice(-10).join('\n')}`);
      try {
        const res = await httpJson(`${this.url}/api/tables`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`emulator did not start: ${this.output.slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async rowCount(table = 'main.ot.tag_events'): Promise<number> {
    const res = await httpJson(`${this.url}/api/tables`);
    return (res.json as { name: string; rowCount: number }[]).find((t) => t.name === table)?.rowCount ?? 0;
  }

  /** Calls a fault control of the running emulator (see lib/emulator FaultControls). */
  async fault(action: string, ...args: unknown[]): Promise<void> {
    // an emulator with a client secret takes writes only with it
    const auth: Record<string, string> = this.opts.clientSecret ? { authorization: `Bearer ${this.opts.clientSecret}` } : {};
    const res = await httpJson(`${this.url}/api/faults`, 'POST', { action, args }, auth);
    if (res.status !== 200) throw new Error(`fault ${action} failed: ${res.status} ${res.text}`);
  }

  /** SIGKILL: the emulator gets no chance to flush anything. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill(sig);
    });
    this.child = undefined;
  }
}
