/**
 * The Jython side of the gateway-script tests: compiles the Java stand-ins for Ignition's value
 * types, starts ONE Jython process running jython/gateway.py (JVM start-up is slow) and sends it
 * commands, one JSON line each, awaiting each answer. Log lines the scripts write come back
 * through the `stats` command.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';

const HERE = __dirname;

/** Why the tests cannot run here, or undefined when jython and javac are installed. */
export function missingTools(): string | undefined {
  for (const tool of ['jython', 'javac']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install jython default-jdk-headless)`;
    }
  }
  return undefined;
}

/** javac of the Java stand-ins into `dir`; returns the class folder. */
export function compileJavaStubs(dir: string): string {
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.java')) sources.push(p);
    }
  };
  walk(path.join(HERE, 'java'));
  const classes = path.join(dir, 'classes');
  execFileSync('javac', ['-d', classes, ...sources], { stdio: 'pipe' });
  return classes;
}

export interface Stats {
  threads: { started: number; alive: number; peak: number };
  /** [level, logger, message] */
  logs: [string, string, string][];
  /** requests since the last stats, by "<protocol version> <content type sent> <status>" */
  exchanges: Record<string, number>;
  retries: number;
}

export class JythonGateway {
  private child: ChildProcess | undefined;
  private waiting: ((line: Record<string, unknown>) => void)[] = [];
  /** log lines the gateway itself printed (timer errors, handler retries) */
  readonly gatewayLogs: string[] = [];
  private stderr: string[] = [];

  start(classes: string, jythonDir = path.join(HERE, 'jython')): void {
    const child = spawn('jython', [path.join(jythonDir, 'gateway.py')], {
      env: { ...process.env, IGNITION_STUB_CLASSES: classes, JYTHONPATH: jythonDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text);
      } catch {
        this.gatewayLogs.push(text);
        return;
      }
      if (msg.log) this.gatewayLogs.push((msg.log as string[]).join(' '));
      else this.waiting.shift()?.(msg);
    });
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c.toString('utf8')));
    child.once('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ ok: false, error: `jython exited (${code}): ${this.stderr.join('').slice(-2000)}` });
    });
  }

  async command<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const child = this.child;
    if (!child || child.exitCode !== null) throw new Error(`jython is not running: ${this.stderr.join('').slice(-2000)}`);
    const answer = new Promise<Record<string, unknown>>((resolve) => this.waiting.push(resolve));
    child.stdin!.write(`${JSON.stringify({ op, ...args })}\n`);
    const a = await answer;
    if (!a.ok) throw new Error(`gateway ${op} failed: ${a.error}`);
    return a as T;
  }

  stats(): Promise<Stats> {
    return this.command<Stats>('stats');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.write(`${JSON.stringify({ op: 'quit' })}\n`);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
