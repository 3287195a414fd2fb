/**
 * Plain HTTP/1.1 service for requests that offer to upgrade to cleartext HTTP/2 (`Upgrade: h2c`).
 *
 * Java's HttpClient — what Ignition's `system.net.httpClient()` wraps, HTTP/2 by default — sends
 * every `http://` request with `Connection: Upgrade, HTTP2-Settings` and `Upgrade: h2c`; so does
 * curl with `--http2`. A server may ignore an Upgrade and answer in HTTP/1.1 (RFC 9110 §7.8), and
 * these clients then carry on in HTTP/1.1. But once an http server has an 'upgrade' listener
 * (Node-RED's editor and runtime add theirs for WebSockets), Node hands every request carrying
 * Upgrade to those listeners instead of the app, body unread; and Node-RED's runtime destroys the
 * socket when nothing was written to it within `inboundWebSocketTimeout` (5 s), so the client
 * sees "header parser received no bytes".
 *
 * For the requests `wants` accepts, this takes the socket back: it writes an interim
 * `100 Continue` (clients parse any 1xx before the final answer, and the bytes written tell
 * Node-RED's watchdog the socket is being served even when the answer waits for durability),
 * puts the request head back in front of the unread body with the upgrade offer removed, and
 * hands the socket to the server as a new connection: the app serves it as any HTTP/1.1 request
 * and the connection stays HTTP/1.1. WebSocket upgrades are never touched.
 */
import type { IncomingMessage, Server } from 'http';
import type { Duplex } from 'stream';

/** Header fields that belong to the upgrade offer only. */
const OFFER_FIELDS = new Set(['upgrade', 'http2-settings']);
const INTERIM = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** True when the request offers h2c (alone or among other protocols) and no WebSocket. */
export function offersH2c(req: IncomingMessage): boolean {
  const protocols = String(req.headers.upgrade ?? '').toLowerCase().split(',').map((p) => p.trim());
  return protocols.includes('h2c') && !protocols.includes('websocket');
}

/** Serves the h2c-offering requests that `wants` accepts as HTTP/1.1; returns the function that stops it. */
export function serveH2cAsHttp1(server: Server, wants: (req: IncomingMessage) => boolean): () => void {
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!offersH2c(req) || !wants(req)) return;
    socket.write(INTERIM);
    socket.unshift(Buffer.concat([requestHead(req), head]));
    server.emit('connection', socket);
  };
  server.on('upgrade', onUpgrade);
  return () => void server.off('upgrade', onUpgrade);
}

/** The request line and header fields as received, without the upgrade offer. */
function requestHead(req: IncomingMessage): Buffer {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (OFFER_FIELDS.has(lower)) continue;
    if (lower === 'connection') {
      const options = raw[i + 1].split(',').map((o) => o.trim()).filter((o) => o && !OFFER_FIELDS.has(o.toLowerCase()));
      if (options.length > 0) lines.push(`${name}: ${options.join(', ')}`);
      continue;
    }
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
