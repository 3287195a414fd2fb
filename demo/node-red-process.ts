/**
 * Runs a real Node-RED as a child process with its own user dir, this package installed into
 * it, given flows and credentials. Used by the demo, the end-to-end and chaos tests and the
 * benchmarks, so that all of them exercise the package exactly as a user's Node-RED loads it.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';

export interface NodeRedProcessOptions {
  userDir: string;
  /** 0 or absent: a free port is chosen */
  port?: number;
  flows: object[];
  /** node id → credentials; written unencrypted (credentialSecret: false) */
  credentials?: Record<string, Record<string, string>>;
  /** extra settings.js values (JSON-serialisable) */
  settings?: Record<string, unknown>;
  /** 'link' symlinks this checkout (built dist/); a path installs that npm tarball with npm, as the palette manager does */
  install?: 'link' | { tarball: string };
  /** node binary to run Node-RED with (e.g. a Node 24 binary for Node-RED 5) */
  nodeBinary?: string;
  /** red.js of the Node-RED to run; default the dev dependency */
  redJs?: string;
  env?: NodeJS.ProcessEnv;
  /** receives every output line of the process */
  onLine?: (line: string) => void;
  /** extra node arguments (e.g. --cpu-prof) */
  nodeArgs?: string[];
}

/**
 * A loopback port nothing listens on now, for a server started later (a server restarted on the
 * same port, a flow that must name it first). Taken below Linux's ephemeral range (32768–60999),
 * where the kernel never puts a `listen(0)` or an outgoing connection: a port from that range
 * could be taken by another process's sockets before it is used (tests run two files at a time).
 * This process never hands the same port out twice.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = FREE_PORTS.from + Math.floor(Math.random() * (FREE_PORTS.to - FREE_PORTS.from));
    if (handedOut.has(port)) continue;
    if ((await listenOnce(port)) !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  return (await listenOnce(0))!; // that range is crowded: the kernel's choice
}

const FREE_PORTS = { from: 20_000, to: 32_768 };
const handedOut = new Set<number>();

/** Listens on the port and closes again: the port it got, or undefined when the port was taken. */
function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * The package folder that 'link' installs: this checkout, or a staged build
 * (`node scripts/build.js --stage DIR`) named by ZEROBUS_PACKAGE_DIR.
 */
export const LINKED_PACKAGE_DIR = process.env.ZEROBUS_PACKAGE_DIR ? path.resolve(process.env.ZEROBUS_PACKAGE_DIR) : PACKAGE_ROOT;

export function installPackage(userDir: string, install: NodeRedProcessOptions['install'] = 'link'): void {
  fs.mkdirSync(userDir, { recursive: true });
  const manifest = path.join(userDir, 'package.json');
  if (!fs.existsSync(manifest)) {
    fs.writeFileSync(manifest, JSON.stringify({ name: 'node-red-project', private: true, dependencies: {} }, null, 2));
  }
  if (install === 'link') {
    const target = path.join(userDir, 'node_modules', '@ot-lakehouse', 'node-red-zerobus');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.rmSync(target, { recursive: true, force: true });
    fs.symlinkSync(LINKED_PACKAGE_DIR, target, 'dir');
    if (!fs.existsSync(path.join(LINKED_PACKAGE_DIR, 'dist', 'nodes'))) {
      throw new Error('dist/ is missing: run `npm run build` first');
    }
  } else {
    fs.cpSync(path.join(installedTree(install.tarball), 'node_modules'), path.join(userDir, 'node_modules'), { recursive: true });
  }
}

/** Trees into which a tarball was installed with npm, once per process; later installs copy them. */
const installedTrees = new Map<string, string>();

/** A folder where `npm install <tarball>` ran, as the palette manager runs it (installed once per tarball). */
function installedTree(tarball: string): string {
  let tree = installedTrees.get(tarball);
  if (tree) return tree;
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'zerobus-installed-'));
  fs.writeFileSync(path.join(tree, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, dependencies: {} }, null, 2));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--omit=dev', '--no-save', tarball], { cwd: tree, stdio: 'pipe' });
  installedTrees.set(tarball, tree);
  if (installedTrees.size === 1) process.once('exit', () => installedTrees.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  return tree;
}

export class NodeRedProcess {
  readonly userDir: string;
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private readonly output: string[] = [];

  constructor(private readonly opts: NodeRedProcessOptions) {
    this.userDir = opts.userDir;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the process printed (bounded to the last 5,000 lines). */
  get log(): string[] {
    return this.output;
  }

  /** Writes user dir, settings, flows and credentials, installs the package once. */
  prepare(): void {
    const { userDir } = this;
    installPackage(userDir, this.opts.install);
    const settings = {
      flowFile: 'flows.json',
      credentialSecret: false,
      logging: { console: { level: 'info', metrics: false, audit: false } },
      editorTheme: { tours: false, projects: { enabled: false } },
      // no consent dialog, no calls home: these machines (and many plants) have no internet
      telemetry: { enabled: false, updateNotification: false },
      ...this.opts.settings,
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    this.writeFlows(this.opts.flows, this.opts.credentials);
  }

  writeFlows(flows: object[], credentials?: Record<string, Record<string, string>>): void {
    fs.writeFileSync(path.join(this.userDir, 'flows.json'), JSON.stringify(flows, null, 2));
    fs.writeFileSync(path.join(this.userDir, 'flows_cred.json'), JSON.stringify(credentials ?? {}, null, 2));
  }

  /** Starts Node-RED and resolves once its flows have started. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (!this.port) this.port = this.opts.port || (await freePort());
    if (!fs.existsSync(path.join(this.userDir, 'settings.js'))) this.prepare();
    const redJs = this.opts.redJs ?? require.resolve('node-red/red.js');
    const child = spawn(
      this.opts.nodeBinary ?? process.execPath,
      [...(this.opts.nodeArgs ?? []), redJs, '--userDir', this.userDir, '--port', String(this.port)],
      { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let started: () => void = () => undefined;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (this.output.length > 5000) this.output.shift();
        this.opts.onLine?.(line);
        if (line.includes('Started flows')) started();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        startedPromise,
        this.exited.then((code) => {
          throw new Error(`Node-RED exited with code ${code} before its flows started:\n${this.output.slice(-30).join('\n')}`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Node-RED did not start its flows within ${timeoutMs} ms:\n${this.output.slice(-30).join('\n')}`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Graceful stop (SIGINT, as Ctrl-C): Node-RED closes every node. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    return this.signal('SIGINT', timeoutMs);
  }

  /** Hard kill: nothing gets a chance to flush. */
  async kill(): Promise<number | null> {
    return this.signal('SIGKILL', 10_000);
  }

  private async signal(sig: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    child.kill(sig);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited!,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, timeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    await this.exited;
    this.child = undefined;
    return code;
  }
}
