/**
 * The source system a request speaks for, so that one receiver can tell many gateways apart
 * even when their scripts send no `sourceSystem`: the `X-Source-System` header, else the
 * `sourceSystem` query parameter (`/system/zerobus/ingest/batch?sourceSystem=plant-a` needs a
 * change of URL only). It fills `source_system` of the events that carry none; an event's own
 * `sourceSystem` always wins, and without either the zerobus-out node's default applies.
 */
import type { IncomingMessage } from 'http';
import { MAX_FIELD_LENGTH } from '../tags/normalise';

export const SOURCE_SYSTEM_HEADER = 'x-source-system';
export const SOURCE_SYSTEM_QUERY = 'sourceSystem';

export type RequestSource = { ok: true; sourceSystem: string | undefined } | { ok: false; message: string };

export function requestSourceSystem(req: IncomingMessage): RequestSource {
  const header = req.headers[SOURCE_SYSTEM_HEADER];
  if (Array.isArray(header)) return { ok: false, message: 'send one X-Source-System header, not several' };
  if (header !== undefined) return checked(header, 'the X-Source-System header');
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return { ok: true, sourceSystem: undefined };
  const values = new URLSearchParams(url.slice(q + 1)).getAll(SOURCE_SYSTEM_QUERY);
  if (values.length === 0) return { ok: true, sourceSystem: undefined };
  if (values.length > 1) return { ok: false, message: `give the ${SOURCE_SYSTEM_QUERY} query parameter once, not ${values.length} times` };
  return checked(values[0], `the ${SOURCE_SYSTEM_QUERY} query parameter`);
}

function checked(raw: string, what: string): RequestSource {
  const text = raw.trim();
  if (text === '') return { ok: false, message: `${what} is empty` };
  if (text.length > MAX_FIELD_LENGTH) return { ok: false, message: `${what} is longer than ${MAX_FIELD_LENGTH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return { ok: false, message: `${what} contains control characters` };
  return { ok: true, sourceSystem: text };
}
