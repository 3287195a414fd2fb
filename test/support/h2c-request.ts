/**
 * Raw HTTP/1.1 requests that offer an upgrade to cleartext HTTP/2, byte for byte as Java 17's
 * HttpClient sends them on an http:// URL with its default version (captured from
 * `HttpClient.newHttpClient()`; Ignition's `system.net.httpClient()` wraps it).
 */
import * as net from 'net';

export interface RawAnswer {
  /** status codes in the order received, interim (1xx) ones included */
  statuses: number[];
  /** header fields of the final answer, lower-case names */
  headers: Record<string, string>;
  body: string;
}

export function h2cRequestHead(method: string, host: string, path: string, bodyBytes: number, extra: Record<string, string> = {}): string {
  const fields: [string, string][] = [
    ['Connection', 'Upgrade, HTTP2-Settings'],
    ['Content-Length', String(bodyBytes)],
    ['Host', host],
    ['HTTP2-Settings', 'AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA'],
    ['Upgrade', 'h2c'],
    ['User-Agent', 'Java-http-client/17.0.15'],
    ...Object.entries(extra),
  ];
  return `${method} ${path} HTTP/1.1\r\n${fields.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`;
}

/**
 * Sends the requests one after the other on ONE connection (body in chunks, as a slow client
 * would) and parses each answer; resolves with the answers, or rejects when the server closes
 * the connection before answering them all.
 */
export function h2cExchange(port: number, requests: { path: string; body: string; headers?: Record<string, string> }[], method = 'POST'): Promise<RawAnswer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const answers: RawAnswer[] = [];
    let buffer = Buffer.alloc(0);
    let statuses: number[] = [];
    const sendNext = () => {
      const r = requests[answers.length];
      const body = Buffer.from(r.body, 'utf8');
      socket.write(h2cRequestHead(method, `127.0.0.1:${port}`, r.path, body.length, r.headers));
      // the body in a few chunks: part of it arrives after the server saw the head
      const step = Math.max(1, Math.ceil(body.length / 4));
      for (let i = 0; i < body.length; i += step) socket.write(body.subarray(i, i + step));
    };
    socket.on('connect', sendNext);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0])?.[1] ?? 0);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const rest = buffer.subarray(end + 4);
        const framed = status < 200 ? { body: '', used: 0 } : headers['transfer-encoding'] === 'chunked' ? unchunk(rest) : fixedLength(rest, Number(headers['content-length'] ?? 0));
        if (!framed) return;
        const body = framed.body;
        buffer = rest.subarray(framed.used);
        statuses.push(status);
        if (status < 200) continue;
        answers.push({ statuses, headers, body });
        statuses = [];
        if (answers.length === requests.length) {
          socket.end();
          return resolve(answers);
        }
        sendNext();
      }
    });
    socket.on('close', () => reject(new Error(`connection closed after ${answers.length} of ${requests.length} answers`)));
    socket.on('error', reject);
  });
}

function fixedLength(data: Buffer, length: number): { body: string; used: number } | undefined {
  return data.length < length ? undefined : { body: data.subarray(0, length).toString('utf8'), used: length };
}

/** A chunked body once complete (RFC 9112 §7.1, without trailers). */
function unchunk(data: Buffer): { body: string; used: number } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (data.length < eol + 2 + size + 2) return undefined;
    if (size === 0) return { body: Buffer.concat(parts).toString('utf8'), used: eol + 4 };
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
