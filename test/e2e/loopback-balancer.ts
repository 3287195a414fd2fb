/**
 * A small HTTP load balancer on loopback, behaving like a reverse proxy set up for several
 * Node-RED instances (docs/SCALING.md): sticky by gateway — the `X-Source-System` header or the
 * `sourceSystem` query parameter picks the instance, so a gateway's resends reach the instance
 * whose duplicate window knows them — and a request moves to the next instance only when the
 * chosen one refuses the connection. A POST that reached an instance which then died is
 * answered 502, not sent again (as nginx does for non-idempotent requests): the gateway resends.
 * `cutAnswersFrom` loses one backend's answers, as a network cut between balancer and gateway
 * right after the backend answered would.
 */
import * as http from 'http';
import { closeForwarder, listenOnLoopback } from '../chaos/rig';

export class LoopbackBalancer {
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  port = 0;
  /** requests answered by each backend port */
  readonly answeredBy = new Map<number, number>();
  /** requests that found their sticky backend refusing connections and went to another */
  failovers = 0;
  /** answers of this backend are read and then lost: the gateway's connection is cut instead */
  cutAnswersFrom: number | undefined;
  lostAnswers = 0;

  constructor(readonly backendPorts: number[]) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.forward(req, Buffer.concat(chunks), res, this.stickyIndex(req), 0));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The gateway's instance: a stable hash of its name over the backends. */
  stickyIndex(req: http.IncomingMessage): number {
    const header = req.headers['x-source-system'];
    const gateway = (typeof header === 'string' ? header : undefined) ?? new URL(req.url ?? '/', 'http://x').searchParams.get('sourceSystem') ?? '';
    return LoopbackBalancer.indexFor(gateway, this.backendPorts.length);
  }

  static indexFor(gateway: string, backends: number): number {
    let h = 2166136261; // FNV-1a
    for (let i = 0; i < gateway.length; i++) h = Math.imul(h ^ gateway.charCodeAt(i), 16777619) >>> 0;
    return h % backends;
  }

  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, index: number, tried: number): void {
    const port = this.backendPorts[index];
    const up = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': body.length }, agent: this.agent },
      (ur) => {
        this.answeredBy.set(port, (this.answeredBy.get(port) ?? 0) + 1);
        if (port === this.cutAnswersFrom) {
          // the request was handled, its answer never arrives: the gateway sees a network error
          ur.resume();
          ur.on('end', () => {
            this.lostAnswers++;
            res.destroy();
          });
          return;
        }
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.on('error', () => res.destroy());
      },
    );
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      if (err.code === 'ECONNREFUSED' && tried + 1 < this.backendPorts.length) {
        this.failovers++;
        return this.forward(req, body, res, (index + 1) % this.backendPorts.length, tried + 1);
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    up.end(body);
  }

  async start(): Promise<void> {
    this.port = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeForwarder(this.server, this.agent);
  }
}
