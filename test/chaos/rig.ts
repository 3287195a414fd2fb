/**
 * The chaos rig: the real pieces as separate processes on loopback — the emulator (its own
 * process, killable), Node-RED with an Ignition → tag batch → zerobus-out (disk spool) flow,
 * and an Ignition-like source in the test process that remembers every event it was told was
 * accepted (HTTP 200 in durable mode). `verify()` checks each of those reached the table.
 *
 * Durations and counts in the scenarios go through `scaled()`: CHAOS_SCALE=10 makes a long run.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { EmulatorProcess, httpJson } from '../../demo/emulator-process';
import { freePort, LINKED_PACKAGE_DIR, NodeRedProcess, type NodeRedProcessOptions } from '../../demo/node-red-process';
import { eventually, requireBuiltPackage } from '../support/dist';

export const SCALE = Math.max(0.1, Number(process.env.CHAOS_SCALE ?? '1') || 1);
/** A duration (ms) or a count multiplied by CHAOS_SCALE. */
export const scaled = (n: number): number => Math.max(1, Math.round(n * SCALE));

export const TABLE = 'main.ot.tag_events';
export const TAB_ID = 'chaos-tab';
export const IN_ID = 'chaos-in';
export const BATCH_ID = 'chaos-batch';
export const OUT_ID = 'chaos-out';
export const CFG_ID = 'chaos-cfg';
export const STATUS_ID = 'chaos-status';
export const STATUS_DEBUG_ID = 'chaos-status-debug';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RigOptions {
  name: string;
  clientId?: string;
  clientSecret?: string;
  /** zerobus-config credentials when they differ from what the emulator enforces */
  configClientId?: string;
  configClientSecret?: string;
  apiKey?: string;
  nodeRedSettings?: Record<string, unknown>;
  /** extra emulator CLI flags */
  emulatorArgs?: string[];
  /** properties merged into the zerobus-out node */
  outProps?: Record<string, unknown>;
  /** properties merged into the zerobus-ignition-in node */
  inProps?: Record<string, unknown>;
  /** more flow nodes (give them z: TAB_ID) */
  extraNodes?: object[];
  extraCredentials?: Record<string, Record<string, string>>;
  /** point zerobus-config.workspaceUrl at a proxy that counts token requests */
  countTokenRequests?: boolean;
  source?: SourceOptions;
  /** how the package gets into Node-RED's user dir: the built checkout (default) or a packed tarball */
  install?: NodeRedProcessOptions['install'];
}

export interface SourceOptions {
  batch?: number;
  intervalMs?: number;
  concurrency?: number;
  apiKey?: string;
  /** like the Ignition scripts: a batch answered non-200 is sent again (default true) */
  resend?: boolean;
}

/**
 * An Ignition-like gateway: posts batches of unique events and remembers those answered 200.
 * Unique events: a distinct millisecond per event makes every (tag, time) pair a key.
 */
export class AcceptedSource {
  readonly accepted = new Set<string>();
  readonly statuses: Record<string, number> = {};
  /** distinct events generated */
  sent = 0;
  requests = 0;
  private seq = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly base = Date.now() - 3_600_000;
  /** statuses of the latest responses, newest last (bounded) */
  readonly recent: { status: number; retryAfter?: string; at: number }[] = [];

  constructor(
    private url: string,
    private readonly opts: SourceOptions = {},
  ) {}

  setUrl(url: string): void {
    this.url = url;
  }

  nextBatch(n = this.opts.batch ?? 200): { body: string; keys: string[] } {
    const events = [];
    const keys = [];
    for (let i = 0; i < n; i++) {
      const s = this.seq++;
      const tagPath = `[chaos]Line/T${s % 40}`;
      const timestamp = this.base + s;
      events.push({ tagPath, tagProvider: 'chaos', value: (s % 1000) / 10, quality: 'Good', qualityCode: 192, timestamp, dataType: 'float' });
      keys.push(`${tagPath}|${timestamp}`);
    }
    this.sent += n;
    return { body: JSON.stringify(events), keys };
  }

  /** Posts one batch; records its keys when answered 200. Returns the status (0 = network error). */
  async post(batch: { body: string; keys: string[] }): Promise<number> {
    this.requests++;
    const { status, retryAfter } = await new Promise<{ status: number; retryAfter?: string }>((resolve) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(batch.body) };
      if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
        res.on('error', () => resolve({ status: 0 }));
      });
      req.setTimeout(30_000, () => req.destroy());
      req.on('error', () => resolve({ status: 0 }));
      req.end(batch.body);
    });
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.recent.push({ status, retryAfter, at: Date.now() });
    if (this.recent.length > 200) this.recent.shift();
    if (status === 200) for (const k of batch.keys) this.accepted.add(k);
    return status;
  }

  async postOnce(): Promise<number> {
    return this.post(this.nextBatch());
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const interval = this.opts.intervalMs ?? 50;
    for (let c = 0; c < (this.opts.concurrency ?? 2); c++) {
      this.loops.push(
        (async () => {
          let batch = this.nextBatch();
          while (this.running) {
            const status = await this.post(batch);
            if (status === 200 || this.opts.resend === false) batch = this.nextBatch();
            await sleep(status === 200 ? interval : Math.max(interval, 250));
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

  /** How many answers with this status arrived since `since` (ms epoch). */
  countSince(status: number, since: number): number {
    return this.recent.filter((r) => r.status === status && r.at >= since).length;
  }
}

/** A plain HTTP forwarder in front of the emulator's HTTP port that counts token requests. */
export class CountingProxy {
  tokenRequests = 0;
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: false });
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = http.createServer((req, res) => {
      if (req.url?.startsWith('/oidc/v1/token')) this.tokenRequests++;
      const up = http.request(
        { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeForwarder(this.server, this.agent);
  }
}

/** Starts a test's HTTP server on a free loopback port; resolves with the port. */
export async function listenOnLoopback(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes a forwarding server: its upstream agent, its open connections, then the server. */
export async function closeForwarder(server: http.Server, agent: http.Agent): Promise<void> {
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Rows sharing an event_id: the extra copies, and how many of those differ in content (a copy must be the same event). */
export function countCopies(rows: Record<string, unknown>[]): { duplicates: number; conflicts: number } {
  const byId = new Map<unknown, string>();
  let duplicates = 0;
  let conflicts = 0;
  for (const r of rows) {
    const content = JSON.stringify([r.tag_path, r.event_time, r.numeric_value, r.string_value, r.boolean_value, r.quality_code, r.source_system]);
    const seen = byId.get(r.event_id);
    if (seen === undefined) byId.set(r.event_id, content);
    else {
      duplicates++;
      if (seen !== content) conflicts++;
    }
  }
  return { duplicates, conflicts };
}

export interface Verification {
  sent: number;
  accepted: number;
  delivered: number;
  missing: number;
  rows: number;
  duplicates: number;
  /** event ids whose copies differ in content: a duplicate must be the same event */
  conflicts: number;
  /** a few missing keys, to debug a failure */
  missingSample: string[];
}

export interface ProcessFigures {
  fds: number;
  sockets: number;
  rssMB: number;
}

/** Open descriptors, sockets among them, and resident memory of a process (Linux /proc). */
export function processFigures(pid: number): ProcessFigures {
  const dir = `/proc/${pid}/fd`;
  let fds = 0;
  let sockets = 0;
  for (const name of fs.readdirSync(dir)) {
    try {
      const target = fs.readlinkSync(path.join(dir, name));
      fds++;
      if (target.startsWith('socket:')) sockets++;
    } catch {
      // closed while listing
    }
  }
  const statusText = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(statusText)?.[1] ?? 0);
  return { fds, sockets, rssMB: Math.round(rssKb / 1024) };
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One line of figures per scenario: appended as JSON to CHAOS_FIGURES_FILE when set, and printed
 * with CHAOS_VERBOSE=1 (`npm run test:chaos` sets it); `npm test` stays a quiet row of dots.
 */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const line = { scenario, scale: SCALE, at: new Date().toISOString(), ...figures };
  if (process.env.CHAOS_VERBOSE) console.log(`      [chaos] ${scenario}: ${JSON.stringify(figures)}`);
  if (process.env.CHAOS_FIGURES_FILE) fs.appendFileSync(process.env.CHAOS_FIGURES_FILE, JSON.stringify(line) + '\n');
}

type EmulatorModule = typeof import('../../lib/emulator');

export class ChaosRig {
  emulator!: EmulatorProcess;
  nodeRed!: NodeRedProcess;
  source!: AcceptedSource;
  proxy: CountingProxy | undefined;
  readonly dir: string;
  /** every line both processes printed, in order, prefixed with the process name */
  readonly lines: string[] = [];
  /** the rows verify() read last */
  rowsRead: Record<string, unknown>[] = [];

  constructor(readonly opts: RigOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `zb-chaos-${opts.name}-`));
  }

  get spoolDir(): string {
    return path.join(this.dir, 'spool');
  }

  get emulatorDataDir(): string {
    return path.join(this.dir, 'emulator');
  }

  get base(): string {
    return `${this.nodeRed.url}/system/zerobus`;
  }

  get ingestUrl(): string {
    return `${this.base}/ingest/batch`;
  }

  get workspaceUrl(): string {
    return this.proxy ? this.proxy.url : this.emulator.url;
  }

  outNode(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id: OUT_ID, type: 'zerobus-out', z: TAB_ID, name: 'sink', connection: CFG_ID, table: TABLE, format: 'ot-event', recordType: 'proto',
      sourceSystem: 'chaos', spool: 'disk', spoolDir: this.spoolDir, spoolMaxMB: 256, overflow: 'block', statsInterval: 0,
      retryBackoffMax: 2, failedRetryInterval: 3, wires: [[]], ...this.opts.outProps, ...extra,
    };
  }

  flows(outExtra: Record<string, unknown> = {}): object[] {
    return [
      { id: TAB_ID, type: 'tab', label: 'chaos' },
      { id: CFG_ID, type: 'zerobus-config', name: 'emulator', endpoint: this.emulator.endpoint, workspaceUrl: this.workspaceUrl, authType: 'oauth' },
      { id: IN_ID, type: 'zerobus-ignition-in', z: TAB_ID, name: 'ignition', path: '/system/zerobus', ack: 'durable', durableTimeout: 10_000, wires: [[BATCH_ID]], ...this.opts.inProps },
      { id: BATCH_ID, type: 'zerobus-batch', z: TAB_ID, name: '', size: 500, interval: 100, wires: [[OUT_ID], []] },
      this.outNode(outExtra),
      // the sink's status, printed by a debug node to the Node-RED log (what a user's status node sees)
      { id: STATUS_ID, type: 'status', z: TAB_ID, name: 'sink status', scope: [OUT_ID], wires: [[STATUS_DEBUG_ID]] },
      { id: STATUS_DEBUG_ID, type: 'debug', z: TAB_ID, name: 'status', active: true, tosidebar: false, console: true, tostatus: false, complete: 'status', targetType: 'msg', wires: [] },
      ...(this.opts.extraNodes ?? []),
    ];
  }

  credentials(): Record<string, Record<string, string>> {
    const creds: Record<string, Record<string, string>> = {
      [CFG_ID]: {
        clientId: this.opts.configClientId ?? this.opts.clientId ?? 'chaos-client',
        clientSecret: this.opts.configClientSecret ?? this.opts.clientSecret ?? 'chaos-secret',
      },
      ...this.opts.extraCredentials,
    };
    if (this.opts.apiKey) creds[IN_ID] = { apiKey: this.opts.apiKey };
    return creds;
  }

  async start(): Promise<void> {
    this.emulator = new EmulatorProcess({
      grpcPort: await freePort(),
      httpPort: await freePort(),
      dataDir: this.emulatorDataDir,
      clientId: this.opts.clientId,
      clientSecret: this.opts.clientSecret,
      extraArgs: this.opts.emulatorArgs,
      onLine: (l) => this.lines.push(`[emulator] ${l}`),
    });
    await this.emulator.start();
    if (this.opts.countTokenRequests) {
      this.proxy = new CountingProxy(this.emulator.opts.httpPort);
      await this.proxy.start();
    }
    this.nodeRed = new NodeRedProcess({
      userDir: path.join(this.dir, 'node-red'),
      flows: [],
      install: this.opts.install,
      settings: { apiMaxLength: '11mb', nodeCloseTimeout: 10_000, logging: { console: { level: 'trace', metrics: false, audit: false } }, ...this.opts.nodeRedSettings },
      onLine: (l) => this.lines.push(`[node-red] ${l}`),
    });
    this.nodeRed.prepare();
    this.nodeRed.writeFlows(this.flows(), this.credentials());
    await this.nodeRed.start();
    this.source = new AcceptedSource(this.ingestUrl, { apiKey: this.opts.apiKey, ...this.opts.source });
    await this.waitForRoute();
  }

  /** Right after a (re)start the route may answer 404 until the flows run. */
  async waitForRoute(timeoutMs = 30_000): Promise<void> {
    await eventually(
      'the receiver route',
      async () => {
        const res = await httpJson(`${this.base}/health`);
        return res.status !== 404;
      },
      timeoutMs,
      200,
    );
  }

  async restartNodeRed(): Promise<void> {
    await this.nodeRed.start();
    this.source.setUrl(this.ingestUrl);
    await this.waitForRoute();
  }

  async health(): Promise<{ status: number; json: any }> {
    return httpJson(`${this.base}/health`);
  }

  async diagnostics(): Promise<any> {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
      http
        .get(`${this.base}/diagnostics`, { headers }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        })
        .on('error', reject);
    });
    if (res.status !== 200) throw new Error(`diagnostics: ${res.status} ${res.text.slice(0, 200)}`);
    return JSON.parse(res.text);
  }

  /** The zerobus-out node as the receiver's diagnostics report it: state, backlog, lastError. */
  async sink(): Promise<{ state: string; backlog: number; accepting: boolean; connected: boolean; lastError?: string }> {
    const d = await this.diagnostics();
    const s = (d.sinks as any[]).find((x) => x.id === OUT_ID);
    if (!s) throw new Error(`the sink is not in the diagnostics: ${JSON.stringify(d.sinks)}`);
    return s;
  }

  /** Deploys flows through the admin API, as the editor's Deploy button does. */
  async deploy(flows: object[], type: 'full' | 'nodes' | 'flows', headers: Record<string, string> = {}): Promise<number> {
    const body = JSON.stringify(flows);
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.nodeRed.url}/flows`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'Node-RED-Deployment-Type': type, ...headers } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Node-RED log lines (without the prefix) since index `from` of `lines`. */
  nodeRedLines(from = 0): string[] {
    return this.lines.slice(from).filter((l) => l.startsWith('[node-red] ')).map((l) => l.slice(11));
  }

  emulatorLines(from = 0): string[] {
    return this.lines.slice(from).filter((l) => l.startsWith('[emulator] ')).map((l) => l.slice(11));
  }

  /** Waits until the sink streams with an empty spool (everything acknowledged). */
  async waitDrained(timeoutMs = 60_000): Promise<void> {
    await eventually(
      'the spool to drain',
      async () => {
        const s = await this.sink();
        return s.state === 'streaming' && s.backlog === 0;
      },
      timeoutMs,
      300,
    );
  }

  /** Every row of the table: the emulator process is stopped and its data dir read in-process (the HTTP API caps rows). */
  async allRows(): Promise<Record<string, unknown>[]> {
    if (this.emulator.running) await this.emulator.stop();
    const mod = require(path.join(LINKED_PACKAGE_DIR, 'dist', 'lib', 'emulator')) as EmulatorModule;
    const emu = await mod.startEmulator({ dataDir: this.emulatorDataDir, grpcPort: 0, httpPort: 0 });
    try {
      return emu.allRows(TABLE);
    } finally {
      await emu.stop();
    }
  }

  /**
   * Stops the source, waits until the sink has drained, then reads every row and checks that
   * each event answered 200 is in the table. Stops the emulator (the scenario is over).
   */
  async verify(timeoutMs = 90_000): Promise<Verification> {
    await this.source.stop();
    const accepted = this.source.accepted.size;
    if (this.emulator.running) {
      await this.waitDrained(timeoutMs).catch(() => undefined); // a failure shows as missing rows below
      await eventually('rows for every accepted event', async () => (await this.emulator.rowCount()) >= accepted, 10_000, 300).catch(() => undefined);
    }
    const rows = await this.allRows();
    this.rowsRead = rows;
    const present = new Set<string>();
    for (const r of rows) present.add(`${r.tag_path}|${Math.round(Number(r.event_time) / 1000)}`);
    const missingKeys: string[] = [];
    for (const k of this.source.accepted) if (!present.has(k)) missingKeys.push(k);
    const { duplicates, conflicts } = countCopies(rows);
    return {
      sent: this.source.sent,
      accepted,
      delivered: accepted - missingKeys.length,
      missing: missingKeys.length,
      rows: rows.length,
      duplicates,
      conflicts,
      missingSample: missingKeys.slice(0, 5),
    };
  }

  /** The end-of-scenario assertions: enough load to mean something, nothing accepted missing, duplicates only as exact copies. */
  expectComplete(v: Verification, minAccepted: number): void {
    assert.ok(v.accepted >= minAccepted, `too little load to prove anything: ${v.accepted} accepted (want ${minAccepted})`);
    assert.equal(v.missing, 0, `accepted events missing from the table: ${v.missingSample.join(', ')}\n${this.tail()}`);
    assert.equal(v.conflicts, 0, 'rows sharing an event_id differ in content');
  }

  /** Prints the last lines of both processes when a test failed (mocha afterEach). */
  dumpOnFailure(test: { state?: string } | undefined): void {
    if (test?.state === 'failed') console.log(`--- last lines of the ${this.opts.name} rig ---\n${this.tail(80)}`);
  }

  /** The last lines of both processes, for a failing assertion's message. */
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  async stop(): Promise<void> {
    await this.source?.stop();
    this.source?.close();
    await this.nodeRed?.stop();
    await this.emulator?.stop();
    await this.proxy?.stop();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The lifecycle every scenario shares, as hooks of the enclosing `describe`: before its tests
 * the built package is required and a rig is made and started (`options` may be a function for
 * values known only then, e.g. a broker's port) and handed to `started`; a failing test dumps
 * the last lines of both processes; after the tests the rig is stopped and its folder removed.
 * Hooks a scenario declares itself run in order with these: an `after` declared before this
 * call runs before the rig stops, one declared after it once the rig has stopped.
 */
export function useChaosRig(options: RigOptions | (() => RigOptions), started: (rig: ChaosRig) => void | Promise<void>): void {
  let rig: ChaosRig | undefined;
  before(async () => {
    requireBuiltPackage();
    rig = new ChaosRig(typeof options === 'function' ? options() : options);
    await rig.start();
    await started(rig);
  });
  afterEach(function () {
    rig?.dumpOnFailure(this.currentTest);
  });
  after(async () => {
    await rig?.stop();
    rig?.cleanup();
  });
}
