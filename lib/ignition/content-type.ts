/**
 * Which request content types the receiver takes. Ignition scripts pass the content type
 * themselves (`system.net.httpPost(url, "application/json", body)`, `httpClient.post(url,
 * data=..., headers=...)`), and the shipped scripts send `application/json`: JSON types and any
 * `+json` type are read as JSON. Every other type — `text/plain`, forms (the editor's body parser
 * would already have mangled them), XML — is a 415 with a hint how to fix the script. So is a
 * missing type: a browser sends a POST without one cross-site with no CORS preflight, so reading
 * it as JSON would let any web page a plant PC opens post tag data.
 */
export type ContentTypeCheck = { ok: true; encoding: BufferEncoding } | { ok: false; message: string };

const JSON_TYPES = new Set(['application/json', 'text/json', 'application/x-json', 'text/x-json']);
/** A Map: the charset comes from the request, and `__proto__` must not find Object.prototype. */
const CHARSETS = new Map<string, BufferEncoding>(Object.entries({
  'utf-8': 'utf8',
  utf8: 'utf8',
  'us-ascii': 'latin1',
  ascii: 'latin1',
  'iso-8859-1': 'latin1',
  latin1: 'latin1',
}) as [string, BufferEncoding][]);

export function checkContentType(header: string | undefined, contentEncoding?: string): ContentTypeCheck {
  if (contentEncoding && contentEncoding.trim().toLowerCase() !== 'identity') {
    return { ok: false, message: `Content-Encoding "${clip(contentEncoding)}" is not supported; send the JSON uncompressed` };
  }
  if (header === undefined || header.trim() === '') {
    return { ok: false, message: 'Content-Type is missing; send JSON with Content-Type: application/json' };
  }
  const [typePart, ...params] = header.split(';');
  const type = typePart.trim().toLowerCase();
  if (!JSON_TYPES.has(type) && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    return {
      ok: false,
      message: `Content-Type "${clip(type)}" is not accepted; send JSON with Content-Type: application/json`,
    };
  }
  let encoding: BufferEncoding = 'utf8';
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase();
    const enc = CHARSETS.get(charset);
    if (!enc) return { ok: false, message: `charset "${clip(charset)}" is not supported; use UTF-8` };
    encoding = enc;
  }
  return { ok: true, encoding };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
