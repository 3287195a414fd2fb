/**
 * A simulated Ignition gateway: tags that change like real plant signals, posted in batches
 * to zerobus-ignition-in exactly as the corrected Gateway Tag Change script does (JSON array
 * of tag events, Jython type names in dataType, resend of the same batch on 503/5xx and
 * network errors, drop with a log on other 4xx).
 */
import * as http from 'http';

export interface SimulatedEvent {
  tagPath: string;
  tagProvider: string;
  value: number | boolean | string | null;
  quality: string;
  qualityCode: number;
  timestamp: number;
  dataType: string;
}

const PROVIDER = 'Sample_Tags';

/** A fixed set of tags whose values are a pure function of time (repeatable runs). */
export class TagGenerator {
  private readonly tags: { path: string; kind: 'sine' | 'ramp' | 'random' | 'bool' | 'string' | 'int' }[] = [];
  private seed = 1;

  constructor(tagCount = 50) {
    const kinds = ['sine', 'ramp', 'random', 'bool', 'string', 'int'] as const;
    for (let i = 0; i < tagCount; i++) {
      const kind = kinds[i % kinds.length];
      const folder = { sine: 'Sine', ramp: 'Ramp', random: 'Random', bool: 'Status', string: 'Text', int: 'Counts' }[kind];
      this.tags.push({ path: `[${PROVIDER}]${folder}/${folder}${Math.floor(i / kinds.length)}`, kind });
    }
  }

  get tagCount(): number {
    return this.tags.length;
  }

  private random(): number {
    // xorshift: deterministic and cheap, good enough for plant noise
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 0x100000000;
  }

  /** The event of tag `index` at time `t` (ms). */
  event(index: number, t: number): SimulatedEvent {
    const tag = this.tags[index % this.tags.length];
    const phase = (index * 0.37) % (2 * Math.PI);
    let value: SimulatedEvent['value'];
    let dataType: string;
    switch (tag.kind) {
      case 'sine':
        value = Math.round(Math.sin(t / 5000 + phase) * 1e6) / 1e6;
        dataType = 'float';
        break;
      case 'ramp':
        value = Math.floor(t / 100) % 1000;
        dataType = 'int';
        break;
      case 'random':
        value = Math.round(this.random() * 1e4) / 100;
        dataType = 'float';
        break;
      case 'bool':
        value = Math.floor(t / 7000 + index) % 2 === 0;
        dataType = 'bool';
        break;
      case 'string':
        value = ['RUNNING', 'IDLE', 'FAULTED', 'STARVED'][Math.floor(t / 11000 + index) % 4];
        dataType = 'unicode';
        break;
      default:
        value = Math.floor(t / 1000) * 7 + index;
        dataType = 'long';
    }
    // now and then a tag goes stale or uncertain for a while, as real devices do
    const bad = Math.floor(t / 15000 + index) % 23 === 0;
    const uncertain = !bad && Math.floor(t / 9000 + index) % 31 === 0;
    return {
      tagPath: tag.path,
      tagProvider: PROVIDER,
      value,
      quality: bad ? 'Bad_Stale' : uncertain ? 'Uncertain_LastKnownValue' : 'Good',
      qualityCode: bad ? -2147483132 : uncertain ? 1073742081 : 192,
      timestamp: t,
      dataType,
    };
  }

  /** `count` events spread over the tags, all stamped `t` plus a small per-tag offset. */
  batch(count: number, t: number, startIndex = 0): SimulatedEvent[] {
    const out = new Array<SimulatedEvent>(count);
    for (let i = 0; i < count; i++) out[i] = this.event(startIndex + i, t + ((startIndex + i) % 1000) / 1000);
    return out;
  }
}

export interface PostResult {
  status: number;
  body: string;
  retryAfterS?: number;
}

/** One POST with keep-alive; resolves with the status (never rejects for HTTP errors). */
export function postJson(url: string, body: string, agent: http.Agent, headers: Record<string, string> = {}): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const retry = Number(res.headers['retry-after']);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfterS: Number.isFinite(retry) ? retry : undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface GatewaySimulatorOptions {
  /** e.g. http://127.0.0.1:1880/system/zerobus/ingest/batch */
  url: string;
  tags?: number;
  /** events per second over all tags */
  eventsPerSecond?: number;
  /** how often a batch is posted */
  intervalMs?: number;
  apiKey?: string;
  log?: (line: string) => void;
}

export class IgnitionGatewaySimulator {
  readonly generator: TagGenerator;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private timer: NodeJS.Timeout | undefined;
  private pending: SimulatedEvent[] = [];
  private busy = false;
  private cursor = 0;
  stats = { posted: 0, eventsDelivered: 0, retries: 0, lastStatus: 0 };

  constructor(private readonly opts: GatewaySimulatorOptions) {
    this.generator = new TagGenerator(opts.tags ?? 60);
  }

  start(): void {
    const interval = this.opts.intervalMs ?? 1000;
    const perTick = Math.max(1, Math.round(((this.opts.eventsPerSecond ?? 300) * interval) / 1000));
    this.timer = setInterval(() => {
      this.pending.push(...this.generator.batch(perTick, Date.now(), this.cursor));
      this.cursor += perTick;
      void this.drain();
    }, interval);
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.length && this.timer) {
        const batch = this.pending.slice(0, 500);
        const headers: Record<string, string> = this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
        let result: PostResult;
        try {
          result = await postJson(this.opts.url, JSON.stringify(batch), this.agent, headers);
        } catch (err) {
          this.stats.retries++;
          this.opts.log?.(`gateway: ${(err as Error).message}; keeping ${this.pending.length} events and retrying`);
          await new Promise((r) => setTimeout(r, 2000));
          continue;
        }
        this.stats.lastStatus = result.status;
        if (result.status === 200) {
          this.pending.splice(0, batch.length);
          this.stats.posted++;
          this.stats.eventsDelivered += batch.length;
        } else if (result.status === 503 || result.status >= 500 || result.status === 404) {
          // 404: Node-RED is (re)starting its flows; 503: backpressure. Same batch again later.
          this.stats.retries++;
          await new Promise((r) => setTimeout(r, (result.retryAfterS ?? 1) * 1000));
        } else {
          this.opts.log?.(`gateway: batch refused with ${result.status}: ${result.body.slice(0, 200)}`);
          this.pending.splice(0, batch.length);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.agent.destroy();
  }
}
