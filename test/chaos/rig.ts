/**
 * The chaos rig: the real pieces as separate processes on loopback — the emulator (its own
 * process, killable), Node-RED with an Ignition → tag batch → zerobus-out (disk spool) flow,
 * and an Ignition-like source in the test process that remembers every event it was told was
 * accepted (HTTP 200 in durable mode). `verify()` checks each of those reached the table.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { EmulatorProcess, httpJson } from '../../demo/emulator-process';
import { freePort, NodeRedProcess } from '../../demo/node-red-process';

export interface RigOptions {
  name: string;
  clientId?: string;
  clientSecret?: string;
  spoolMaxMB?: number;
  overflow?: 'block' | 'drop-oldest';
  apiKey?: string;
  nodeRedSettings?: Record<string, unknown>;
  /** extra emulator CLI flags */
  emulatorArgs?: string[];
}

export const TABLE = 'main.ot.tag_events';
export const IN_ID = 'chaos-in';
export const OUT_ID = 'chaos-out';
export const CFG_ID = 'chaos-cfg';

export class AcceptedSource {
  readonly accepted = new Set<string>();
  readonly statuses: Record<string, number> = {};
  sent = 0;
  private seq = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly base = Date.now() - 3_600_000;

  constructor(private url: string, private readonly opts: { batch?: number; intervalMs?: number; concurrency?: number; apiKey?: string } = {}) {}

  setUrl(url: string): void {
    this.url = url;
  }

  /** Unique events: a distinct millisecond per event makes every (tag, time) pair a key. */
  private nextBatch(): { body: string; keys: string[] } {
    const n = this.opts.batch ?? 200;
    const events = [];
    const keys = [];
    for (let i = 0; i < n; i++) {
      const s = this.seq++;
      const tagPath = `[chaos]Line/T${s % 40}`;
      const timestamp = this.base + s;
      events.push({ tagPath, tagProvider: 'chaos', value: (s % 1000) / 10, quality: 'Good', qualityCode: 192, timestamp, dataType: 'float' });
      keys.push(`${tagPath}|${timestamp}`);
    }
    return { body: JSON.stringify(events), keys };
  }

  /** Posts one batch; records its keys when answered 200. Returns the status (0 = network error). */
  async postOnce(): Promise<number> {
    const { body, keys } = this.nextBatch();
    this.sent += keys.length;
    const status = await new Promise<number>((resolve) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.setTimeout(30_000, () => req.destroy());
      req.on('error', () => resolve(0));
      req.end(body);
    });
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status === 200) for (const k of keys) this.accepted.add(k);
    return status;
  }

  start(): void {
    this.running = true;
    const interval = this.opts.intervalMs ?? 50;
    for (let c = 0; c < (this.opts.concurrency ?? 2); c++) {
      this.loops.push(
        (async () => {
          while (this.running) {
            const status = await this.postOnce();
            await new Promise((r) => setTimeout(r, status === 200 ? interval : Math.max(interval, 200)));
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Verification {
  accepted: number;
  delivered: number;
  missing: number;
  rows: number;
  duplicates: number;
}

export class ChaosRig {
  emulator!: EmulatorProcess;
  nodeRed!: NodeRedProcess;
  source!: AcceptedSource;
  readonly dir: string;
  readonly lines: string[] = [];

  constructor(readonly opts: RigOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `zb-chaos-${opts.name}-`));
  }

  get spoolDir(): string {
    return path.join(this.dir, 'spool');
  }

  get ingestUrl(): string {
    return `${this.nodeRed.url}/system/zerobus/ingest/batch`;
  }

  flows(): object[] {
    return [
      { id: 'chaos-tab', type: 'tab', label: 'chaos' },
      { id: CFG_ID, type: 'zerobus-config', name: 'emulator', endpoint: this.emulator.endpoint, workspaceUrl: this.emulator.url, authType: 'oauth' },
      { id: IN_ID, type: 'zerobus-ignition-in', z: 'chaos-tab', name: 'ignition', path: '/system/zerobus', ack: 'durable', durableTimeout: 5000, wires: [['chaos-batch']] },
      { id: 'chaos-batch', type: 'zerobus-batch', z: 'chaos-tab', name: '', size: 500, interval: 100, wires: [[OUT_ID], []] },
      {
        id: OUT_ID, type: 'zerobus-out', z: 'chaos-tab', name: 'sink', connection: CFG_ID, table: TABLE, format: 'ot-event', recordType: 'proto',
        sourceSystem: 'chaos', spool: 'disk', spoolDir: this.spoolDir, spoolMaxMB: this.opts.spoolMaxMB ?? 256, overflow: this.opts.overflow ?? 'block', statsInterval: 0, wires: [[]],
      },
    ];
  }

  credentials(): Record<string, Record<string, string>> {
    const creds: Record<string, Record<string, string>> = { [CFG_ID]: { clientId: this.opts.clientId ?? 'chaos-client', clientSecret: this.opts.clientSecret ?? 'chaos-secret' } };
    if (this.opts.apiKey) creds[IN_ID] = { apiKey: this.opts.apiKey };
    return creds;
  }

  async start(): Promise<void> {
    this.emulator = new EmulatorProcess({
      grpcPort: await freePort(),
      httpPort: await freePort(),
      dataDir: path.join(this.dir, 'emulator'),
      clientId: this.opts.clientId,
      clientSecret: this.opts.clientSecret,
      extraArgs: this.opts.emulatorArgs,
      onLine: (l) => this.lines.push(`[emulator] ${l}`),
    });
    await this.emulator.start();
    this.nodeRed = new NodeRedProcess({
      userDir: path.join(this.dir, 'node-red'),
      flows: [],
      settings: { apiMaxLength: '11mb', nodeCloseTimeout: 10_000, logging: { console: { level: 'trace' } }, ...this.opts.nodeRedSettings },
      onLine: (l) => this.lines.push(`[node-red] ${l}`),
    });
    this.nodeRed.prepare();
    this.nodeRed.writeFlows(this.flows(), this.credentials());
    await this.nodeRed.start();
    this.source = new AcceptedSource(this.ingestUrl, { apiKey: this.opts.apiKey });
    await this.waitForRoute();
  }

  /** Right after a (re)start the route may answer 404 until the flows run. */
  async waitForRoute(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await httpJson(`${this.nodeRed.url}/system/zerobus/health`);
        if (res.status !== 404) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('the receiver route did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async restartNodeRed(): Promise<void> {
    await this.nodeRed.start();
    this.source.setUrl(this.ingestUrl);
    await this.waitForRoute();
  }

  /** Every row of the table, read through the emulator's HTTP API. */
  async rows(): Promise<{ tag_path: string; event_time: number; event_id: string }[]> {
    const res = await httpJson(`${this.emulator.url}/api/tables/${TABLE}/rows?limit=1000000`);
    if (res.status !== 200) throw new Error(`rows: ${res.status} ${res.text.slice(0, 200)}`);
    return res.json;
  }

  /** Waits until every accepted event is in the table (or the time is up), then counts. */
  async verify(timeoutMs = 60_000): Promise<Verification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.rows();
      const present = new Set<string>();
      for (const r of rows) present.add(`${r.tag_path}|${Math.round(Number(r.event_time) / 1000)}`);
      let missing = 0;
      for (const k of this.source.accepted) if (!present.has(k)) missing++;
      const result: Verification = {
        accepted: this.source.accepted.size,
        delivered: this.source.accepted.size - missing,
        missing,
        rows: rows.length,
        duplicates: rows.length - new Set(rows.map((r) => r.event_id)).size,
      };
      if (missing === 0 || Date.now() > deadline) return result;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async stop(): Promise<void> {
    await this.source?.stop();
    this.source?.close();
    await this.nodeRed?.stop();
    await this.emulator?.stop();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
